/**
 * The inbound stack: what happens to a request another workload sends to the local app. TLS is
 * terminated by the transport before this handler runs. One function, outermost first:
 *   server → rescue → weft-port → XFCC → observe → listener rate limit → per-port mTLS mode → authz → route (the chain's inline table)
 *   → timeout → retry → fault → [concrete: cluster pick → circuit breaker → balancer] → app client.
 */
import { Backends, clustersOfTables } from '../balance/backends';
import { ConfigCell } from '../config/cell';
import type { FilterChainConfig, ListenerConfig, ProxyConfig, RouteTable } from '../config/types';
import { rescue } from '../http/respond';
import { clientCertLayer, type ForwardClientCertMode } from '../http/client-cert';
import { type Authorize, type AuthzLog, authz } from '../layers/authz';
import { fault } from '../layers/fault';
import { observe } from '../layers/observe';
import { BucketSet, rateLimit } from '../layers/rate-limit';
import { retry } from '../layers/retry';
import { route } from '../layers/route';
import { timeout } from '../layers/timeout';
import { type StackDeps, type StackHandler, concreteStack, resolveDeps } from '../outbound/stack';
import { fact } from '../stack/meta';
import { type ProxyRequest, compose } from '../stack/types';
import { requestServicePort, servicePort } from './service-port';
import { chainByHostPort } from '../listeners/host-port';
import { mtlsMode } from './mtls-mode';

export interface InboundDeps extends StackDeps {
  /** The authorization evaluator (api/authz.ts). @default - no authz layer (every request allowed) */
  readonly authorize?: Authorize;
  /** Where authz denials (warn) and AUDIT matches (info) are logged. @default - not logged */
  readonly authzLog?: AuthzLog;
  /**
   * `x-forwarded-client-cert` handling and this proxy's own SPIFFE ID (the `By` of the header).
   * @default - sanitize_set with no `By`
   */
  readonly forwardClientCert?: { readonly mode: ForwardClientCertMode; readonly identity: () => string | undefined };
  /** The inbound listener to serve. @default - the first INBOUND listener */
  readonly listener?: string;
}

/** The inbound listener in `config`. */
export function inboundListener(config: ProxyConfig, preferred?: string): ListenerConfig | undefined {
  if (preferred) return config.listeners.get(preferred);
  for (const l of config.listeners.values()) if (l.direction === 'inbound') return l;
  return undefined;
}

/**
 * The filter chain for `req`: by the service port the caller's sidecar named (`weft-port`; none when no
 * chain serves it), else by original destination port when the server set it, else by the Host port,
 * else the first HTTP chain.
 */
export function inboundChain(l: ListenerConfig | undefined, req: ProxyRequest): FilterChainConfig | undefined {
  if (!l) return undefined;
  const http = l.chains.filter((c) => !c.tcp);
  const svcPort = requestServicePort(req);
  if (svcPort !== undefined) return http.find((c) => c.servicePort === svcPort);
  const port = fact(req, 'weft.destinationPort');
  if (port !== undefined) return http.find((c) => c.destinationPort === port) ?? http.find((c) => c.destinationPort === undefined);
  return chainByHostPort(http, req.authority, req.scheme) ?? http[0]; // no weft-port: the Host port (proxy/listeners/host-port.ts)
}

/** The clusters the inbound listener's chains route to. */
export function inboundClusters(config: ProxyConfig, preferred?: string): Set<string> {
  return clustersOfTables(config, inboundListener(config, preferred)?.chains.map((c) => c.routeTable) ?? []);
}

/** Builds the inbound handler for `config` (a ProxyConfig, or a ConfigCell the caller swaps). */
export function buildInboundHandler(config: ProxyConfig | ConfigCell, deps: InboundDeps): StackHandler {
  const cell = config instanceof ConfigCell ? config : new ConfigCell(config);
  const { now, random } = resolveDeps(deps);
  // Only the clusters the inbound chains route to (the local app); the outbound stack owns the rest.
  const select = (c: ProxyConfig) => {
    const names = inboundClusters(c, deps.listener);
    return (name: string) => names.has(name);
  };
  const backends = new Backends(cell, { endpointClient: deps.endpointClient, metrics: deps.metrics, now, random, select });
  const buckets = new BucketSet(now);
  const listenerOf = () => inboundListener(cell.get(), deps.listener);
  const tableFor = (c: ProxyConfig, req: ProxyRequest): RouteTable | undefined => {
    const chain = inboundChain(inboundListener(c, deps.listener), req);
    return chain ? c.routes.get(chain.routeTable) : undefined;
  };
  const handler = compose(
    rescue, // errors → responses in one place (a denial → 403 / PERMISSION_DENIED)
    servicePort, // `weft-port` → the chain and authz port; stripped before the app
    clientCertLayer(deps.forwardClientCert?.mode ?? 'sanitize_set', deps.forwardClientCert?.identity ?? (() => undefined)), // a client-sent XFCC never reaches the app
    observe('inbound', deps.metrics, now, deps.node), // above authz, so denied requests are counted too
    rateLimit(() => {
      const l = listenerOf();
      return l?.rateLimit ? { bucket: buckets.get(`listener:${l.name}`, l.rateLimit), scope: `listener ${l.name}` } : undefined;
    }), // shed before spending effort on authz
    mtlsMode((req) => inboundChain(listenerOf(), req)), // plaintext never reaches a STRICT port (counted, like denials)
    ...(deps.authorize ? [authz(deps.authorize, listenerOf, undefined, deps.authzLog)] : []), // before routing: a denied caller learns nothing about routes
    route(cell, tableFor, random), // the chain's inline table: normally one route to the local app cluster
    timeout((req) => inboundChain(listenerOf(), req)?.maxStreamDurationMs),
    retry({ now, random, metrics: deps.metrics }),
    fault(random),
  )(concreteStack(backends, now, random)); // app clusters are STATIC 127.0.0.1:<ports.app> (proxy/config/app-ports.ts)
  return Object.assign(handler, { cell, backends, close: () => backends.close() });
}
