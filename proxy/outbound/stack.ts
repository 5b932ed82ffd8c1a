/**
 * The outbound stack: what happens to a request the local app sends to another service. One
 * function, outermost first, so the order is visible (linkerd2-proxy `outbound/src/http.rs`):
 *   server → rescue → observe → listener rate limit → route (logical) → route rate limit → mirror
 *   → timeout → retry → fault → [concrete: cluster pick → circuit breaker → cluster rate limit
 *   → balancer (P2C peak-EWMA, outlier detection)] → endpoint client.
 */
import type { Registry } from 'prom-client';
import { Backends, type EndpointClientFactory, clustersOfTables } from '../balance/backends';
import { balance } from '../balance/balance';
import { ConfigCell } from '../config/cell';
import type { ListenerConfig, ProxyConfig, RouteTable } from '../config/types';
import { rescue } from '../http/respond';
import { pickCluster } from '../layers/cluster-pick';
import { fault } from '../layers/fault';
import { circuitBreaker } from '../layers/limits';
import { mirror } from '../layers/mirror';
import { observe } from '../layers/observe';
import { BucketSet, rateLimit } from '../layers/rate-limit';
import { retry } from '../layers/retry';
import { routeOf, route } from '../layers/route';
import { timeout } from '../layers/timeout';
import { fact } from '../stack/meta';
import { type Handler, type ProxyRequest, compose } from '../stack/types';

export type { EndpointClientFactory } from '../balance/backends';
export type { EndpointTarget } from '../balance/cluster';

/** What both stack builders need from the proxy around them. */
export interface StackDeps {
  /** Makes the HTTP/1 or HTTP/2 client of one endpoint (TLS when `tls` is set). */
  readonly endpointClient: EndpointClientFactory;
  /** Registry every layer registers its metric families in (no global registry). */
  readonly metrics: Registry;
  /** Monotonic milliseconds. @default performance.now */
  readonly clock?: { now(): number };
  /** Uniform [0, 1). @default Math.random */
  readonly random?: () => number;
  /** This sidecar's service and version: the source/destination labels of its request metrics. @default - `unknown` */
  readonly node?: { readonly service: string; readonly version: string };
}

export interface OutboundDeps extends StackDeps {
  /** The outbound listener whose routes serve requests when no listener is named after the authority. @default - the first OUTBOUND listener */
  readonly listener?: string;
  /** Clusters this stack must leave to another (the inbound stack's app clusters). @default - none */
  readonly exclude?: (config: ProxyConfig) => (name: string) => boolean;
}

/** A stack's handler plus what its owner needs: the config cell to swap, and shutdown. */
export type StackHandler = Handler & {
  /** Set a new ProxyConfig here; requests that start afterwards use it. */
  readonly cell: ConfigCell;
  readonly backends: Backends;
  /** Releases endpoint clients and stops following the cell. */
  close(): void;
};

/** The listener serving `req` in `config`: named after the authority (proxyless style), else the outbound one. */
export function outboundListener(config: ProxyConfig, req: ProxyRequest, preferred?: string): ListenerConfig | undefined {
  const byAuthority = config.listeners.get(req.authority);
  if (byAuthority?.routeTable) return byAuthority;
  if (preferred) return config.listeners.get(preferred);
  for (const l of config.listeners.values()) if (l.direction === 'outbound' && l.routeTable) return l;
  return undefined;
}

function outboundTable(preferred?: string) {
  return (config: ProxyConfig, req: ProxyRequest): RouteTable | undefined => {
    const l = outboundListener(config, req, preferred);
    if (l) return config.routes.get(l.routeTable);
    // Only RDS known (e.g. static resources without listeners): a single table is unambiguous.
    return config.routes.size === 1 ? [...config.routes.values()][0] : undefined;
  };
}

/**
 * By default the outbound stack skips clusters that only inbound listeners route to (the local
 * app's), so the two stacks never both keep balancer state and gauges for one cluster.
 */
export function excludeInboundClusters(config: ProxyConfig): (name: string) => boolean {
  const inboundTables: string[] = [];
  const otherTables: string[] = [];
  for (const l of config.listeners.values()) for (const c of l.chains) (l.direction === 'inbound' ? inboundTables : otherTables).push(c.routeTable);
  const inbound = clustersOfTables(config, inboundTables);
  const outbound = clustersOfTables(config, otherTables);
  return (name) => inbound.has(name) && !outbound.has(name);
}

/** Resolves clock and random once. */
export function resolveDeps(deps: StackDeps): { now: () => number; random: () => number } {
  const clock = deps.clock;
  return { now: clock ? () => clock.now() : () => performance.now(), random: deps.random ?? Math.random };
}

/**
 * The concrete (backend) stack shared by forwarding and mirroring: one cluster and one endpoint
 * per call. Limits sit before the balancer so a full cluster fails fast without picking.
 */
export function concreteStack(backends: Backends, now: () => number, random: () => number): Handler {
  const buckets = new BucketSet(now);
  return compose(
    pickCluster(random), // per try: a retry may land on another weighted cluster
    circuitBreaker((c) => backends.get(c)?.limiter), // 503 circuit_open / overflow before any pick
    rateLimit((req) => {
      const b = backends.get(fact(req, 'weft.cluster') ?? '');
      const cfg = b?.config.rateLimit;
      return cfg ? { bucket: buckets.get(`cluster:${b.config.name}`, cfg), scope: `cluster ${b.config.name}` } : undefined;
    }),
  )(balance(backends, now)); // P2C peak-EWMA by default, outlier detection, failfast no_endpoints
}

/** Builds the outbound handler for `config` (a ProxyConfig, or a ConfigCell the caller swaps). */
export function buildOutboundHandler(config: ProxyConfig | ConfigCell, deps: OutboundDeps): StackHandler {
  const cell = config instanceof ConfigCell ? config : new ConfigCell(config);
  const { now, random } = resolveDeps(deps);
  const exclude = deps.exclude ?? excludeInboundClusters;
  const select = (c: ProxyConfig) => {
    const excluded = exclude(c);
    return (name: string) => !excluded(name);
  };
  const backends = new Backends(cell, { endpointClient: deps.endpointClient, metrics: deps.metrics, now, random, select });
  const concrete = concreteStack(backends, now, random);
  const buckets = new BucketSet(now);
  const listenerOf = (req: ProxyRequest) => outboundListener(cell.get(), req, deps.listener);
  const handler = compose(
    rescue, // the one place errors become responses (504/503/502/429/404, grpc-status for gRPC)
    observe('outbound', deps.metrics, now, deps.node), // inside rescue: sees typed errors; above routing: counts no_route too
    rateLimit((req) => {
      const l = listenerOf(req);
      return l?.rateLimit ? { bucket: buckets.get(`listener:${l.name}`, l.rateLimit), scope: `listener ${l.name}` } : undefined;
    }),
    route(cell, outboundTable(deps.listener), random), // logical: vhost/route, header mods, redirect, direct response, hash
    rateLimit((req) => {
      const r = routeOf(req);
      return r?.rateLimit ? { bucket: buckets.get(`route:${r.name}`, r.rateLimit), scope: `route ${r.name}` } : undefined;
    }),
    mirror(concrete, random), // shadows skip timeout/retry/fault: fire-and-forget, never affects the main response
    timeout((req) => listenerOf(req)?.maxStreamDurationMs), // above retry: the deadline covers every try
    retry({ now, random, metrics: deps.metrics }), // above the balancer: a retry can reach another endpoint
    fault(random), // below retry: injected failures exercise the retry policy
  )(concrete);
  return Object.assign(handler, { cell, backends, close: () => backends.close() });
}
