/**
 * What the balancer knows about one endpoint: its client, load (in-flight, peak EWMA) and outlier
 * state. It is keyed by `address:port` and survives config updates that keep the endpoint.
 */
import type { CircuitBreakers, EndpointConfig } from '../config/types';
import { DEFAULT_MAX_CONNECTIONS_PER_HOST } from '../config/parse-cluster';
import { ConcurrencyLimiter } from '../layers/limits';
import type { Handler } from '../stack/types';
import { PeakEwma } from './ewma';

/** Outlier-detection counters of one endpoint (gRFC A50 call counters + Envoy consecutive counters). */
export interface OutlierState {
  successes: number;
  failures: number;
  consecutive5xx: number;
  consecutiveGateway: number;
  /** When it was ejected (clock ms), or undefined when in rotation. */
  ejectedAt?: number;
  /** Ejection count multiplier: grows per ejection, shrinks per clean interval. */
  multiplier: number;
}

export class EndpointState {
  /** Requests sent and not yet finished (body done or failed). */
  inFlight = 0;
  readonly ewma: PeakEwma;
  readonly outlier: OutlierState = { successes: 0, failures: 0, consecutive5xx: 0, consecutiveGateway: 0, multiplier: 0 };
  /**
   * The per-host connection cap (Envoy per_host_thresholds.max_connections): each HTTP/1.1 request
   * holds one pooled connection, so it holds a slot here until its body ends; past the cap requests
   * wait in a queue of the cluster's max_pending_requests, then are shed (503 overflow).
   */
  readonly connections: ConcurrencyLimiter;

  constructor(
    /** `address:port`. */
    public readonly key: string,
    /** Latest config of this endpoint (weight and health change in place). */
    public config: EndpointConfig,
    /** The endpoint client for this address. */
    public readonly handler: Handler,
    /** What the client was built for; a change needs a new client. */
    public readonly clientKey: string,
    decayMs: number,
    now: number,
    /** Cluster name and breakers the connection cap comes from. @default - the default cap, unnamed */
    cluster: { readonly name: string; readonly circuitBreakers: CircuitBreakers } = { name: '', circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 } },
  ) {
    this.ewma = new PeakEwma(decayMs, now);
    this.connections = new ConcurrencyLimiter(cluster.name, perHostLimits(cluster.circuitBreakers), 'http1');
  }

  /** Applies a cluster config update to the connection cap (the slots held stay held). */
  setBreakers(b: CircuitBreakers): void {
    this.connections.limits = perHostLimits(b);
  }

  /** Whether it may receive a new request right now. */
  get available(): boolean {
    return this.config.healthy && this.outlier.ejectedAt === undefined;
  }
}

/** The cluster's breakers as per-host limits: only max_connections per host, queued like the cluster. */
function perHostLimits(b: CircuitBreakers): CircuitBreakers {
  return { maxConnections: b.maxConnectionsPerHost ?? DEFAULT_MAX_CONNECTIONS_PER_HOST, maxRequests: Number.POSITIVE_INFINITY, maxPendingRequests: b.maxPendingRequests };
}

/** Key of an endpoint: `address:port` (IPv6 in brackets). */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
