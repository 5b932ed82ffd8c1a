/**
 * One cluster's balancer: its endpoints (state kept across config updates), the picker of its LB
 * policy, outlier detection and circuit breakers. Unavailable endpoints are never picked.
 */
import type { ClusterConfig, EndpointConfig } from '../config/types';
import { ConcurrencyLimiter } from '../layers/limits';
import { BucketSet, type TokenBucket } from '../layers/rate-limit';
import type { Handler } from '../stack/types';
import { EndpointState, endpointKey } from './endpoint';
import type { BalancerMetrics } from './metrics';
import { type Outcome, OutlierDetector } from './outlier';
import { type Picker, leastRequestPicker, peakEwmaPicker, roundRobinPicker } from './pickers';
import { ringHashPicker } from './ring-hash';

/** Where and how to reach one endpoint; what the endpoint client factory receives. */
export interface EndpointTarget {
  readonly address: string;
  readonly port: number;
  readonly tls?: { readonly expectedIdentity?: string };
  readonly protocol: 'http1' | 'http2';
}

/** Hands out endpoint clients (shared between clusters that list the same endpoint). */
export interface ClientPool {
  acquire(target: EndpointTarget): { handler: Handler; key: string };
  release(key: string): void;
  /** The endpoint of `key` left the config with requests in flight: close what is idle. @default - nothing */
  retiring?(key: string): void;
}

export class ClusterBalancer {
  /** Bumped whenever the endpoint set or weights change (ring rebuilds). */
  generation = 0;
  readonly limiter: ConcurrencyLimiter;
  #config: ClusterConfig;
  #endpoints = new Map<string, EndpointState>();
  #list: EndpointState[] = [];
  #picker: Picker;
  #outlier?: OutlierDetector;
  readonly #retired = new Set<EndpointState>();
  readonly #buckets: BucketSet;

  constructor(
    config: ClusterConfig,
    private readonly clients: ClientPool,
    private readonly now: () => number,
    private readonly random: () => number,
    private readonly metrics: BalancerMetrics,
  ) {
    this.#config = config;
    this.limiter = new ConcurrencyLimiter(config.name, config.circuitBreakers, config.protocol);
    this.#buckets = new BucketSet(now);
    this.#picker = this.#makePicker(config);
    this.#outlier = this.#makeOutlier(config);
  }

  get config(): ClusterConfig {
    return this.#config;
  }

  /** Every known endpoint (available or not). */
  get endpoints(): readonly EndpointState[] {
    return this.#list;
  }

  /** The cluster-level rate-limit bucket, if configured. */
  get bucket(): TokenBucket | undefined {
    return this.#config.rateLimit ? this.#buckets.get('cluster', this.#config.rateLimit) : undefined;
  }

  #makePicker(c: ClusterConfig): Picker {
    switch (c.lbPolicy) {
      case 'round-robin': return roundRobinPicker(this.random);
      case 'least-request': return leastRequestPicker(this.random);
      case 'ring-hash': return ringHashPicker(c.ringSize, this.random, () => ({ generation: this.generation, endpoints: this.#list }));
      default: return peakEwmaPicker(this.random);
    }
  }

  #makeOutlier(c: ClusterConfig): OutlierDetector | undefined {
    if (!c.outlierDetection) return undefined;
    return new OutlierDetector(c.outlierDetection, this.now, this.random, {
      onEject: (_e, reason) => {
        this.metrics.ejections.inc({ cluster: c.name, reason });
        this.metrics.ejected.inc({ cluster: c.name });
      },
      onUneject: () => this.metrics.ejected.dec({ cluster: c.name }),
    });
  }

  /** Applies a new cluster config and endpoint list; surviving endpoints keep EWMA and ejections. */
  update(config: ClusterConfig, endpoints: readonly EndpointConfig[]): void {
    if (config !== this.#config) {
      if (config.lbPolicy !== this.#config.lbPolicy || config.ringSize !== this.#config.ringSize) this.#picker = this.#makePicker(config);
      if (this.#outlier && config.outlierDetection) this.#outlier.config = config.outlierDetection;
      else this.#outlier = this.#makeOutlier(config);
      this.limiter.limits = config.circuitBreakers;
      this.limiter.protocol = config.protocol;
      this.#config = config;
    }
    const next = new Map<string, EndpointState>();
    for (const ep of endpoints) {
      const key = endpointKey(ep.address, ep.port);
      const target: EndpointTarget = {
        address: ep.address,
        port: ep.port,
        protocol: config.protocol,
        tls: config.tls && ep.meshed ? { expectedIdentity: ep.identity ?? config.tls.expectedIdentity } : undefined,
      };
      const clientKey = JSON.stringify(target);
      const old = this.#endpoints.get(key);
      if (old && old.clientKey === clientKey) {
        old.config = ep;
        old.setBreakers(config.circuitBreakers);
        next.set(key, old);
        continue;
      }
      const { handler, key: poolKey } = this.clients.acquire(target);
      next.set(key, new EndpointState(key, ep, handler, poolKey, config.ewmaDecayMs, this.now(), config));
    }
    for (const [key, old] of this.#endpoints) if (next.get(key) !== old) this.#retire(old);
    this.#endpoints = next;
    this.#list = [...next.values()];
    this.generation++;
    this.metrics.endpoints.set({ cluster: config.name }, this.#list.length);
    this.metrics.ejected.set({ cluster: config.name }, this.#list.filter((e) => e.outlier.ejectedAt !== undefined).length);
  }

  /** Picks an available endpoint, or undefined when there is none (→ 503 no_endpoints). */
  pick(hash: number | undefined): EndpointState | undefined {
    this.#outlier?.tick(this.#list);
    const available = this.#list.filter((e) => e.available);
    if (available.length === 0) return undefined;
    return this.#picker.pick(available, hash);
  }

  /** Records how a request to `e` ended (outlier detection). */
  record(e: EndpointState, outcome: Outcome): void {
    if (this.#endpoints.get(e.key) === e) this.#outlier?.record(e, outcome, this.#list);
  }

  /** Called when a request to `e` has fully finished. */
  finished(e: EndpointState): void {
    e.inFlight--;
    if (e.inFlight <= 0 && this.#retired.delete(e)) this.clients.release(e.clientKey);
  }

  #retire(e: EndpointState): void {
    // In-flight requests drain on the old client; it is released when the last one finishes.
    if (e.inFlight <= 0) this.clients.release(e.clientKey);
    else {
      this.#retired.add(e);
      this.clients.retiring?.(e.clientKey);
    }
  }

  /** Releases every endpoint client (the cluster was removed). */
  close(): void {
    for (const e of this.#list) this.#retire(e);
    this.#list = [];
    this.#endpoints.clear();
  }
}
