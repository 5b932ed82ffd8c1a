/**
 * Local rate limiting (Envoy local_ratelimit): a token bucket refilled lazily from the clock, and a
 * layer that answers 429 `rate_limited` when the bucket that applies to a request is empty.
 */
import type { TokenBucketConfig } from '../config/types';
import { RateLimitedError } from '../http/errors';
import type { Layer, ProxyRequest } from '../stack/types';

/** A token bucket; `tryTake` never blocks. */
export class TokenBucket {
  #tokens: number;
  #lastFill: number;

  constructor(
    /** Bucket size and refill rate; replaced in place on config updates. */
    public config: TokenBucketConfig,
    private readonly now: () => number,
  ) {
    this.#tokens = config.maxTokens;
    this.#lastFill = now();
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    const now = this.now();
    const fills = Math.floor((now - this.#lastFill) / this.config.fillIntervalMs);
    if (fills > 0) {
      this.#tokens = Math.min(this.config.maxTokens, this.#tokens + fills * this.config.tokensPerFill);
      this.#lastFill += fills * this.config.fillIntervalMs;
    }
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
}

/** Finds the bucket (and its scope name for the error) that applies to a request, if any. */
export type BucketFor = (req: ProxyRequest) => { bucket: TokenBucket; scope: string } | undefined;

/** Rejects with RateLimitedError (→ 429) when the request's bucket is empty. */
export function rateLimit(bucketFor: BucketFor, onLimited?: (scope: string) => void): Layer {
  return (next) => async (req) => {
    const b = bucketFor(req);
    if (b && !b.bucket.tryTake()) {
      onLimited?.(b.scope);
      throw new RateLimitedError(b.scope);
    }
    return next(req);
  };
}

/** Keeps one bucket per key and updates its config in place, so a config push does not refill it. */
export class BucketSet {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly now: () => number) {}

  /** The bucket for `key` with config `config`. */
  get(key: string, config: TokenBucketConfig): TokenBucket {
    let b = this.#buckets.get(key);
    if (!b) {
      b = new TokenBucket(config, this.now);
      this.#buckets.set(key, b);
    } else if (b.config !== config) b.config = config;
    return b;
  }
}
