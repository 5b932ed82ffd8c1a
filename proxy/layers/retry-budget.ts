/**
 * The retry budget (linkerd2-proxy / Finagle `RetryBudget`): over a sliding window of `ttl`,
 * retries may not exceed `retryRatio` × requests + `minRetriesPerSecond` × ttl seconds. It stops
 * retry storms: when an upstream is down, retries add at most 20 % load instead of N×.
 */
import type { RetryBudgetConfig } from '../config/types';

const BUCKETS = 10;

/** A sliding-window token budget for retries. */
export class RetryBudget {
  readonly #deposits = new Array<number>(BUCKETS).fill(0);
  readonly #withdrawals = new Array<number>(BUCKETS).fill(0);
  #epoch: number;

  constructor(
    public config: RetryBudgetConfig,
    private readonly now: () => number,
  ) {
    this.#epoch = Math.floor(now() / this.#width());
  }

  #width(): number {
    return this.config.ttlMs / BUCKETS;
  }

  /** Clears buckets that slid out of the window. */
  #advance(): number {
    const epoch = Math.floor(this.now() / this.#width());
    const gap = Math.min(BUCKETS, epoch - this.#epoch);
    for (let i = 1; i <= gap; i++) {
      const b = (this.#epoch + i) % BUCKETS;
      this.#deposits[b] = 0;
      this.#withdrawals[b] = 0;
    }
    if (epoch > this.#epoch) this.#epoch = epoch;
    return this.#epoch % BUCKETS;
  }

  /** Records one original request (earns `retryRatio` of a retry). */
  deposit(): void {
    this.#deposits[this.#advance()]++;
  }

  /** Takes one retry if the window allows it. */
  tryWithdraw(): boolean {
    const b = this.#advance();
    const deposits = this.#deposits.reduce((a, x) => a + x, 0);
    const withdrawals = this.#withdrawals.reduce((a, x) => a + x, 0);
    const reserve = this.config.minRetriesPerSecond * (this.config.ttlMs / 1000);
    if (withdrawals + 1 > reserve + deposits * this.config.retryRatio) return false;
    this.#withdrawals[b]++;
    return true;
  }
}
