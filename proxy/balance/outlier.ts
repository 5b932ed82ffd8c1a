/**
 * Outlier detection (gRFC A50, Envoy OutlierDetection): consecutive 5xx / gateway errors eject at
 * once; every interval, success-rate ejection (mean − stdevFactor × stdev) and failure-percentage
 * ejection (failures > threshold %) run over the interval's call counters, and ejected hosts
 * return after base_ejection_time × ejection count (capped). The sweep runs lazily on the next
 * pick, so no timer outlives the proxy and tests drive it with a fake clock.
 */
import type { OutlierDetectionConfig } from '../config/types';
import type { EndpointState } from './endpoint';

/** How one finished request counts. `gateway` = 502/503/504 or a connect failure/reset. */
export type Outcome = 'success' | '5xx' | 'gateway';

/** Why an endpoint was ejected (metric label). */
export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway' | 'success_rate' | 'failure_percentage';

export interface OutlierHooks {
  onEject(e: EndpointState, reason: EjectionReason): void;
  onUneject(e: EndpointState): void;
}

export class OutlierDetector {
  #nextSweep: number;

  constructor(
    public config: OutlierDetectionConfig,
    private readonly now: () => number,
    private readonly random: () => number,
    private readonly hooks: OutlierHooks,
  ) {
    this.#nextSweep = now() + config.intervalMs;
  }

  /** Counts one finished request; may eject at once on consecutive failures. */
  record(e: EndpointState, outcome: Outcome, all: readonly EndpointState[]): void {
    const s = e.outlier;
    if (outcome === 'success') {
      s.successes++;
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      return;
    }
    s.failures++;
    s.consecutive5xx++;
    if (outcome === 'gateway') s.consecutiveGateway++;
    else s.consecutiveGateway = 0;
    const { consecutive5xx, consecutiveGatewayErrors } = this.config;
    if (consecutive5xx !== undefined && s.consecutive5xx >= consecutive5xx) this.#eject(e, 'consecutive_5xx', all);
    else if (consecutiveGatewayErrors !== undefined && s.consecutiveGateway >= consecutiveGatewayErrors) this.#eject(e, 'consecutive_gateway', all);
  }

  /** Runs the interval sweep(s) that are due. Call before every pick. */
  tick(all: readonly EndpointState[]): void {
    const now = this.now();
    if (now < this.#nextSweep) return;
    this.#sweep(all, now);
    // After a long idle period one sweep stands for all the missed ones (counters were idle too).
    this.#nextSweep = Math.max(this.#nextSweep + this.config.intervalMs, now + 1);
  }

  #ejectedPercentAllows(all: readonly EndpointState[]): boolean {
    const ejected = all.filter((x) => x.outlier.ejectedAt !== undefined).length;
    // Envoy ejects at least one host regardless of max_ejection_percent.
    return ejected === 0 ? this.config.maxEjectionPercent > 0 : ((ejected + 1) * 100) / all.length <= this.config.maxEjectionPercent;
  }

  #eject(e: EndpointState, reason: EjectionReason, all: readonly EndpointState[]): void {
    if (e.outlier.ejectedAt !== undefined || !this.#ejectedPercentAllows(all)) return;
    e.outlier.ejectedAt = this.now();
    e.outlier.multiplier++;
    e.outlier.consecutive5xx = 0;
    e.outlier.consecutiveGateway = 0;
    this.hooks.onEject(e, reason);
  }

  #sweep(all: readonly EndpointState[], now: number): void {
    const sr = this.config.successRate;
    if (sr) {
      const candidates = all.filter((e) => hasVolume(e, sr.requestVolume));
      if (candidates.length >= sr.minimumHosts) {
        const rates = candidates.map((e) => e.outlier.successes / (e.outlier.successes + e.outlier.failures));
        const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
        const stdev = Math.sqrt(rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length);
        const threshold = mean - sr.stdevFactor * stdev;
        candidates.forEach((e, i) => {
          if (rates[i] < threshold && this.random() * 100 < sr.enforcingPercent) this.#eject(e, 'success_rate', all);
        });
      }
    }
    const fp = this.config.failurePercentage;
    if (fp) {
      // gRFC A50: only hosts with enough calls count, and only when enough hosts have them
      const candidates = all.filter((e) => hasVolume(e, fp.requestVolume));
      if (candidates.length >= fp.minimumHosts) {
        for (const e of candidates) {
          const pct = (100 * e.outlier.failures) / (e.outlier.successes + e.outlier.failures);
          if (pct > fp.threshold && this.random() * 100 < fp.enforcingPercent) this.#eject(e, 'failure_percentage', all);
        }
      }
    }
    const { baseEjectionTimeMs, maxEjectionTimeMs } = this.config;
    for (const e of all) {
      const s = e.outlier;
      if (s.ejectedAt === undefined) {
        if (s.multiplier > 0) s.multiplier--;
      } else if (now >= s.ejectedAt + Math.min(baseEjectionTimeMs * s.multiplier, Math.max(baseEjectionTimeMs, maxEjectionTimeMs))) {
        s.ejectedAt = undefined;
        this.hooks.onUneject(e);
      }
      s.successes = 0;
      s.failures = 0;
    }
  }
}

/**
 * Whether `e` had enough calls this interval to be judged. A host with no calls has no rate
 * (Envoy's accumulator gives none for an empty bucket), so request_volume 0 admits every host that
 * had at least one call; it is never judged on 0/0. minimum_hosts 0 needs no check: with no
 * candidate there is nothing to eject.
 */
function hasVolume(e: EndpointState, requestVolume: number): boolean {
  const total = e.outlier.successes + e.outlier.failures;
  return total > 0 && total >= requestVolume;
}

/** Classifies a response status or error kind for outlier detection. */
export function outcomeOf(status: number | 'connect_failure' | 'reset'): Outcome {
  if (status === 'connect_failure' || status === 'reset') return 'gateway';
  if (status === 502 || status === 503 || status === 504) return 'gateway';
  return status >= 500 ? '5xx' : 'success';
}
