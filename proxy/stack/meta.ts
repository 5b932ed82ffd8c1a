/**
 * Typed keys for `ProxyRequest.meta`: the facts one layer leaves for the layers below it (the
 * matched route, the picked cluster and endpoint, the try number). One place, so names never drift.
 */
import type { ProxyRequest } from './types';

/** What each meta key holds. */
export interface RequestFacts {
  /** `outbound` or `inbound`: which stack serves the request. */
  'weft.direction': 'outbound' | 'inbound';
  /** The config snapshot the request was routed with (unknown here to keep stack/ free of config/). */
  'weft.config': unknown;
  /** The matched route (a `Route` from proxy/config). */
  'weft.route': unknown;
  /** Human name of the route (`reviews-canary/default`), used in metrics and `weft-error`. */
  'weft.routeName': string;
  /** Name of the virtual host that matched. */
  'weft.vhost': string;
  /** Cluster forced by a layer above the weighted pick (mirroring). */
  'weft.clusterOverride': string;
  /** Cluster the backend layer picked for the current try. */
  'weft.cluster': string;
  /** `address:port` of the endpoint the current try went to. */
  'weft.endpoint': string;
  /** 1 for the first try, 2 for the first retry… */
  'weft.try': number;
  /** Port the connection was addressed to (original destination), set by the inbound server; picks the filter chain. */
  'weft.destinationPort': number;
  /** Request hash from the route's hash policy (consistent hashing). */
  'weft.hash': number;
}

/** Reads a fact; undefined when no layer set it. */
export function fact<K extends keyof RequestFacts>(req: ProxyRequest, key: K): RequestFacts[K] | undefined {
  return req.meta.get(key) as RequestFacts[K] | undefined;
}

/** Records a fact for the layers below (and the response path above). */
export function setFact<K extends keyof RequestFacts>(req: ProxyRequest, key: K, value: RequestFacts[K]): void {
  req.meta.set(key, value);
}
