/**
 * The overload manager: sheds new requests with 503 + `connection: close` (HTTP/2: GOAWAY) while
 * event-loop lag or heap use is past a threshold, before the process runs out of memory (Envoy's
 * overload manager with fixed_heap / injected_resource monitors).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { WeftError } from '../../api/errors';

/** Thresholds. */
export interface OverloadOptions {
  /** Shed while the max event-loop delay over the last sample exceeds this. @default 1000 */
  readonly maxEventLoopDelayMs?: number;
  /** Shed while used heap / heap limit exceeds this fraction. @default 0.95 */
  readonly maxHeapFraction?: number;
  /** How often the monitors are sampled. @default 500 */
  readonly sampleIntervalMs?: number;
}

/** Samples the monitors on a timer; `reason()` says why we shed, or undefined when healthy. */
export class OverloadManager {
  readonly #maxDelayNs: number;
  readonly #maxHeap: number;
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  readonly #intervalMs: number;
  #lastTick = performance.now();
  #reason: string | undefined;
  #injected: string | undefined;

  constructor(opts: OverloadOptions = {}) {
    this.#maxDelayNs = (opts.maxEventLoopDelayMs ?? 1000) * 1e6;
    this.#maxHeap = opts.maxHeapFraction ?? 0.95;
    this.#histogram = monitorEventLoopDelay({ resolution: 20 });
    this.#histogram.enable();
    this.#intervalMs = opts.sampleIntervalMs ?? 500;
    this.#timer = setInterval(() => this.#sample(), this.#intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    // the histogram misses a stall that straddles reset(); our own timer's drift does not
    const now = performance.now();
    const drift = (now - this.#lastTick - this.#intervalMs) * 1e6;
    this.#lastTick = now;
    const delay = Math.max(this.#histogram.max, drift);
    this.#histogram.reset();
    const heap = getHeapStatistics();
    const frac = heap.used_heap_size / heap.heap_size_limit;
    if (delay > this.#maxDelayNs) this.#reason = `event-loop delay ${Math.round(delay / 1e6)}ms`;
    else if (frac > this.#maxHeap) this.#reason = `heap ${(frac * 100).toFixed(0)}% of limit`;
    else this.#reason = undefined;
  }

  /** Why the proxy is shedding right now, or undefined. */
  reason(): string | undefined {
    return this.#injected ?? this.#reason;
  }

  /** Forces (or clears) overload, like Envoy's injected_resource monitor; for tests and operators. */
  inject(reason: string | undefined): void {
    this.#injected = reason;
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}

/** The environment variable that overrides `maxEventLoopDelayMs` (tests set it far out of reach). */
export const OVERLOAD_DELAY_ENV = 'WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS';

/**
 * Overload options from the environment: `WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS` (a positive number
 * of milliseconds) replaces the event-loop-delay threshold; unset keeps the default.
 * @throws WeftError WEFT_ERR_OVERLOAD_ENV when it is set but not a positive number.
 */
export function overloadOptionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): OverloadOptions {
  const raw = env[OVERLOAD_DELAY_ENV];
  if (raw === undefined || raw === '') return {};
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new WeftError('WEFT_ERR_OVERLOAD_ENV', `${OVERLOAD_DELAY_ENV}=${JSON.stringify(raw)} is not a delay; set it to a positive number of milliseconds or unset it for the default 1000`);
  }
  return { maxEventLoopDelayMs: ms };
}
