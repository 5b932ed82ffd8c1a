/**
 * Peak-EWMA latency estimate (Finagle / linkerd2-proxy `proxy/balance`): a new RTT above the
 * estimate replaces it at once (peak), lower ones decay in with weight exp(-elapsed/decay), so a
 * slow endpoint is avoided immediately and trusted again only gradually.
 */

/** Starting estimate for an endpoint never measured (linkerd2-proxy's default RTT). */
export const DEFAULT_RTT_MS = 30;
/** RTT charged for a failed request, so fast failures never look attractive. */
export const FAILURE_PENALTY_MS = 1000;

export class PeakEwma {
  #estimate: number;
  #stamp: number;

  constructor(
    /** Time constant of the decay, ms. */
    public decayMs: number,
    now: number,
    initialMs = DEFAULT_RTT_MS,
  ) {
    this.#estimate = initialMs;
    this.#stamp = now;
  }

  /** The current estimate, ms. */
  get estimate(): number {
    return this.#estimate;
  }

  /** Folds in one observed round-trip time. */
  observe(rttMs: number, now: number): void {
    const elapsed = Math.max(0, now - this.#stamp);
    this.#stamp = now;
    if (rttMs > this.#estimate) {
      this.#estimate = rttMs;
      return;
    }
    const w = Math.exp(-elapsed / this.decayMs);
    this.#estimate = this.#estimate * w + rttMs * (1 - w);
  }

  /** Load cost used by P2C: estimate × (in-flight + 1). */
  cost(inFlight: number): number {
    return this.#estimate * (inFlight + 1);
  }
}
