/**
 * What the balancer knows about one endpoint: its client, load (in-flight, peak EWMA) and outlier
 * state. It is keyed by `address:port` and survives config updates that keep the endpoint.
 */
import type { EndpointConfig } from '../config/types';
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
  ) {
    this.ewma = new PeakEwma(decayMs, now);
  }

  /** Whether it may receive a new request right now. */
  get available(): boolean {
    return this.config.healthy && this.outlier.ejectedAt === undefined;
  }
}

/** Key of an endpoint: `address:port` (IPv6 in brackets). */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
