/**
 * Circuit breakers per cluster (Envoy max_requests / max_pending_requests / max_connections): at
 * most N requests in flight, a bounded queue behind them, fail fast past both. A request holds its
 * slot until its response body ends, because that is when the upstream is done with it.
 */
import type { CircuitBreakers } from '../config/types';
import { CancelledError, CircuitOpenError, OverflowError } from '../http/errors';
import { onBodyDone } from '../stack/body';
import { fact } from '../stack/meta';
import type { Layer } from '../stack/types';

interface Waiter {
  resolve(release: () => void): void;
  reject(err: Error): void;
}

/** A concurrency limit with a bounded FIFO queue. */
export class ConcurrencyLimiter {
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    /** Cluster name (error details). */
    public readonly cluster: string,
    /** Thresholds; replaced in place on config updates. */
    public limits: CircuitBreakers,
    /** HTTP/1 uses one connection per in-flight request, so max_connections also bounds requests. */
    public protocol: 'http1' | 'http2',
  ) {}

  /** Requests holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get pending(): number {
    return this.#queue.length;
  }

  #max(): { max: number; limit: string } {
    const { maxRequests, maxConnections } = this.limits;
    return this.protocol === 'http1' && maxConnections < maxRequests ? { max: maxConnections, limit: 'max_connections' } : { max: maxRequests, limit: 'max_requests' };
  }

  /** Resolves with a release function once a slot is free; rejects fast when full. */
  acquire(signal: AbortSignal): Promise<() => void> {
    const { max, limit } = this.#max();
    if (this.#active < max) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.limits.maxPendingRequests === 0) return Promise.reject(new CircuitOpenError(this.cluster, limit));
    if (this.#queue.length >= this.limits.maxPendingRequests) return Promise.reject(new OverflowError(this.cluster));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new CancelledError());
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      // Hand the slot straight to the next waiter so it cannot be stolen by a newcomer.
      if (next) next.resolve(this.#releaser());
      else this.#active--;
    };
  }
}

/**
 * The circuit-breaker layer: holds a slot of the request's cluster from before the endpoint pick
 * until the response body ends. Unknown clusters pass through (the balancer reports them).
 */
export function circuitBreaker(limiterFor: (cluster: string) => ConcurrencyLimiter | undefined): Layer {
  return (next) => async (req) => {
    const limiter = limiterFor(fact(req, 'weft.cluster') ?? '');
    if (!limiter) return next(req);
    const release = await limiter.acquire(req.signal);
    try {
      const res = await next(req);
      onBodyDone(res, release);
      return res;
    } catch (err) {
      release();
      throw err;
    }
  };
}
