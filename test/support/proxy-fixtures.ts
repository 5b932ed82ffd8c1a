/**
 * Fixtures for the proxy's request-path tests: ProxyRequest builders, a fake clock, a seeded
 * random, and xDS resources in the codec's object form (snake_case, `{seconds, nanos}`, `{value}`).
 */
import { seededRandom as seedRandom } from '../../api/random';
import { Readable } from 'node:stream';
import type { Handler, Headers, ProxyRequest, ProxyResponse } from '../../proxy/stack/types';

/** A ProxyRequest with sensible defaults. */
export function makeRequest(p: Partial<Omit<ProxyRequest, 'body'>> & { body?: Readable | string | Buffer | null } = {}): ProxyRequest {
  const body = typeof p.body === 'string' || Buffer.isBuffer(p.body) ? Readable.from([Buffer.from(p.body)]) : p.body ?? null;
  return {
    method: 'GET',
    authority: 'reviews',
    path: '/',
    scheme: 'http',
    headers: {},
    grpc: false,
    httpVersion: '1.1',
    peer: { address: '127.0.0.1', port: 40000, tls: false },
    signal: new AbortController().signal,
    meta: new Map(),
    ...p,
    body,
  };
}

/** A response with a text body. */
export function textResponse(status: number, text = '', headers: Headers = {}): ProxyResponse {
  return { status, headers, body: text ? Readable.from([Buffer.from(text)]) : null };
}

/** Reads a response body to a string. */
export async function readBody(res: ProxyResponse | { body: Readable | null }): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** A manual monotonic clock. */
export class FakeClock {
  constructor(public t = 1_000_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Deterministic PRNG (mulberry32) in [0, 1). */
export function seededRandom(seed = 42): () => number {
  return seedRandom(seed);
}

/** A `next` that records requests and answers with `respond` (the allowed stand-in for layer unit tests). */
export function fakeNext(respond: (req: ProxyRequest, n: number) => ProxyResponse | Promise<ProxyResponse> = () => textResponse(200, 'ok')): Handler & { calls: ProxyRequest[] } {
  const calls: ProxyRequest[] = [];
  const h = async (req: ProxyRequest) => {
    calls.push(req);
    return respond(req, calls.length);
  };
  return Object.assign(h, { calls });
}

// --- xDS object-form builders ---

export const TYPES = {
  HCM: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  ROUTER: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  FAULT: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  RATE: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
};

export const dur = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** An outbound listener using RDS `routeName`. */
export function listener(name: string, routeName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TYPES.HCM, stat_prefix: name, rds: { route_config_name: routeName, config_source: { ads: {} } }, http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPES.ROUTER } }] } }] }],
    ...extra,
  };
}

/** A route configuration with one virtual host. */
export function routeConfig(name: string, domains: string[], routes: Record<string, unknown>[]): Record<string, unknown> {
  return { name, virtual_hosts: [{ name: `${name}-vh`, domains, routes }] };
}

/** An EDS cluster. */
export function cluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: name }, ...extra };
}

/** A ClusterLoadAssignment for `addresses` (`ip:port`). */
export function cla(name: string, addresses: string[]): Record<string, unknown> {
  return {
    cluster_name: name,
    endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: addresses.map((a) => {
      const i = a.lastIndexOf(':');
      return { endpoint: { address: { socket_address: { address: a.slice(0, i), port_value: Number(a.slice(i + 1)) } } }, health_status: 'HEALTHY' };
    }) }],
  };
}
