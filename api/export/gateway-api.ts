/**
 * The mesh as Gateway API GAMMA resources (gateway.networking.k8s.io/v1): per-version Services as
 * weighted backends, and Service-parented HTTPRoutes / GRPCRoutes with matches, timeouts, retries
 * (experimental channel), header filters and mirrors. Policies go to the GAMMA implementation's own
 * resources (Istio's, see security.ts and the DestinationRules here); what the standard cannot say
 * is a coded warning.
 */
import type { HeaderMatchModel, HeaderModifierModel, MatchModel, PortModel, RetryModel, RouteModel, ServiceModel } from '../model';
import { type ExportContext, type KubeObject, gatewayDuration, hostOf, routeOwner } from './common';
import { trafficPolicyOf } from './istio';

const GATEWAY = 'gateway.networking.k8s.io/v1';

/** Name of the Service that selects one version (`reviews-v2`), the weighted backend of a route. */
export function versionServiceName(svc: ServiceModel, version: string): string {
  return `${svc.name}-${version}`;
}

/** One Service per version: GAMMA splits traffic between Services, not between label subsets. */
export function versionServices(ctx: ExportContext, svc: ServiceModel): KubeObject[] {
  return svc.versions.map((v) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: versionServiceName(svc, v.name), namespace: svc.namespace, labels: { ...ctx.selector(svc), version: v.name } },
    spec: {
      selector: { ...ctx.selector(svc), version: v.name },
      ports: svc.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: 'TCP', appProtocol: p.protocol === 'tcp' ? 'tcp' : p.protocol === 'http' ? 'http' : 'kubernetes.io/h2c' })),
    },
  }));
}

type Warn = (field: string, message: string) => void;

function valueMatch(h: HeaderMatchModel, field: string, warn: Warn): Record<string, string> | undefined {
  if (h.invert || h.present === false) {
    warn(field, 'Gateway API cannot match on the absence of a header or query parameter (or invert a match); the condition is left out, so the route matches more requests');
    return undefined;
  }
  if (h.regex !== undefined) return { type: 'RegularExpression', name: h.name, value: h.regex };
  if (h.exact !== undefined) return { type: 'Exact', name: h.name, value: h.exact };
  return { type: 'RegularExpression', name: h.name, value: '.*' };
}

function httpMatch(m: MatchModel, field: string, warn: Warn): Record<string, unknown> {
  const headers = m.headers.map((h, i) => valueMatch(h, `${field}.headers[${i}]`, warn)).filter((x) => x !== undefined);
  const query = m.query.map((q, i) => valueMatch(q, `${field}.query[${i}]`, warn)).filter((x) => x !== undefined);
  const p = m.path;
  return {
    ...(p ? { path: p.regex !== undefined ? { type: 'RegularExpression', value: p.regex } : p.prefix !== undefined ? { type: 'PathPrefix', value: p.prefix } : { type: 'Exact', value: p.exact ?? '/' } } : {}),
    ...(m.method ? { method: m.method } : {}),
    ...(headers.length ? { headers } : {}),
    ...(query.length ? { queryParams: query } : {}),
  };
}

/** weft retry conditions as the HTTP status codes Gateway API retries on (connection errors are retried anyway). */
function retryOf(r: RetryModel, field: string, warn: Warn): Record<string, unknown> {
  const codes = new Set<number>(r.retriableStatusCodes);
  for (const on of r.on) {
    if (on === '5xx') [500, 502, 503, 504].forEach((c) => codes.add(c));
    else if (on === 'gateway-error') [502, 503, 504].forEach((c) => codes.add(c));
    else if (on === 'retriable-4xx') codes.add(409);
    else if (on !== 'reset' && on !== 'connect-failure' && on !== 'refused-stream') warn(`${field}.on`, `retry on ${on} (a gRPC status) has no Gateway API equivalent; left out`);
  }
  if (r.on.includes('5xx')) warn(`${field}.on`, 'retry on 5xx is exported as the codes 500, 502, 503, 504 (Gateway API lists codes; 501 and 505+ are not retried)');
  return { attempts: r.attempts, backoff: gatewayDuration(r.backoffBaseMs), ...(codes.size ? { codes: [...codes].sort((a, b) => a - b) } : {}) };
}

function headerFilter(type: 'RequestHeaderModifier' | 'ResponseHeaderModifier', mod: HeaderModifierModel | undefined): Record<string, unknown>[] {
  if (!mod) return [];
  const list = (r: Readonly<Record<string, string>>) => Object.entries(r).map(([name, value]) => ({ name, value }));
  const body = {
    ...(Object.keys(mod.set).length ? { set: list(mod.set) } : {}),
    ...(Object.keys(mod.add).length ? { add: list(mod.add) } : {}),
    ...(mod.remove.length ? { remove: [...mod.remove] } : {}),
  };
  if (!Object.keys(body).length) return [];
  return [{ type, [type === 'RequestHeaderModifier' ? 'requestHeaderModifier' : 'responseHeaderModifier']: body }];
}

function backendRefs(svc: ServiceModel, port: PortModel, rm: RouteModel): Record<string, unknown>[] {
  return rm.backends.filter((b) => b.weight > 0).map((b) => ({ name: versionServiceName(svc, b.version), port: port.port, weight: b.weight }));
}

function mirrorFilter(svc: ServiceModel, port: PortModel, rm: RouteModel): Record<string, unknown>[] {
  if (!rm.mirror) return [];
  const p = rm.mirror.percent;
  const share = Number.isInteger(p) ? { percent: p } : { fraction: { numerator: Math.round(p * 100), denominator: 10000 } };
  return [{ type: 'RequestMirror', requestMirror: { backendRef: { name: versionServiceName(svc, rm.mirror.version), port: port.port }, ...share } }];
}

/** Checks a route for what neither route kind can carry; returns false when the rule is left out. */
function commonGaps(rm: RouteModel, field: string, warn: Warn): boolean {
  if (rm.fault && (rm.fault.delay || rm.fault.abort)) warn(`${field}.fault`, 'Gateway API has no fault injection; the fault is not exported');
  if (rm.directResponse) {
    warn(`${field}.directResponse`, 'Gateway API has no direct response; the route rule is left out, so its requests fall to the next rule');
    return false;
  }
  return true;
}

function httpRule(ctx: ExportContext, svc: ServiceModel, port: PortModel, rm: RouteModel, index: number): Record<string, unknown> | undefined {
  const field = `routes[${rm.name}]`;
  const warn: Warn = (f, m) => ctx.warn.add(routeOwner(svc, rm.source), f, m);
  if (!commonGaps(rm, field, warn)) return undefined;
  const matches = rm.matches.map((m, i) => httpMatch(m, `${field}.match[${i}]`, warn));
  const filters = [...headerFilter('RequestHeaderModifier', rm.requestHeaders), ...headerFilter('ResponseHeaderModifier', rm.responseHeaders), ...mirrorFilter(svc, port, rm)];
  if (rm.redirect) {
    const r = rm.redirect;
    filters.push({ type: 'RequestRedirect', requestRedirect: { ...(r.scheme ? { scheme: r.scheme } : {}), ...(r.host ? { hostname: r.host } : {}), ...(r.path ? { path: { type: 'ReplaceFullPath', replaceFullPath: r.path } } : {}), ...(r.port ? { port: r.port } : {}), statusCode: r.status } });
  }
  const timeouts = {
    ...(rm.timeoutMs !== undefined ? { request: gatewayDuration(rm.timeoutMs) } : {}),
    ...(rm.retries?.perTryTimeoutMs !== undefined ? { backendRequest: gatewayDuration(rm.retries.perTryTimeoutMs) } : {}),
  };
  return {
    name: rm.name,
    ...(matches.length ? { matches } : {}),
    ...(filters.length ? { filters } : {}),
    ...(rm.redirect ? {} : { backendRefs: backendRefs(svc, port, rm) }),
    ...(Object.keys(timeouts).length ? { timeouts } : {}),
    ...(rm.retries ? { retry: retryOf(rm.retries, `${field}.retries`, warn) } : {}),
  };
}

/** `/pkg.Service/Method` (exact) or `/pkg.Service/` (prefix) as a GRPCMethodMatch. */
function grpcMethod(m: MatchModel, field: string, warn: Warn): Record<string, unknown> | undefined {
  const p = m.path;
  if (!p) return undefined;
  const exact = p.exact !== undefined ? /^\/([^/]+)\/([^/]+)$/.exec(p.exact) : null;
  if (exact) return { type: 'Exact', service: exact[1], method: exact[2] };
  const prefix = p.prefix !== undefined ? /^\/([^/]+)\/$/.exec(p.prefix) : null;
  if (prefix) return { type: 'Exact', service: prefix[1] };
  warn(`${field}.path`, 'a gRPC route matches a path that is not /Service/ or /Service/Method; Gateway API matches gRPC by service and method only, so the path condition is left out');
  return undefined;
}

function grpcRule(ctx: ExportContext, svc: ServiceModel, port: PortModel, rm: RouteModel, index: number): Record<string, unknown> | undefined {
  const field = `routes[${rm.name}]`;
  const warn: Warn = (f, m) => ctx.warn.add(routeOwner(svc, rm.source), f, m);
  if (!commonGaps(rm, field, warn)) return undefined;
  if (rm.redirect) {
    warn(`${field}.redirect`, 'GRPCRoute has no redirect; the route rule is left out');
    return undefined;
  }
  if (rm.timeoutMs !== undefined) warn(`${field}.timeout`, 'GRPCRoute has no timeouts in Gateway API v1; set the deadline in the client (grpc-timeout)');
  if (rm.retries) warn(`${field}.retries`, 'GRPCRoute has no retry in Gateway API v1; configure retries in the client or the implementation');
  const matches = rm.matches.map((m, i) => {
    const f = `${field}.match[${i}]`;
    if (m.query.length) warn(`${f}.query`, 'gRPC requests carry no query; the condition is left out');
    const method = grpcMethod(m, f, warn);
    const headers = m.headers.map((h, j) => valueMatch(h, `${f}.headers[${j}]`, warn)).filter((x) => x !== undefined);
    return { ...(method ? { method } : {}), ...(headers.length ? { headers } : {}) };
  });
  const filters = [...headerFilter('RequestHeaderModifier', rm.requestHeaders), ...headerFilter('ResponseHeaderModifier', rm.responseHeaders), ...mirrorFilter(svc, port, rm)];
  return {
    name: rm.name,
    ...(matches.length ? { matches } : {}),
    ...(filters.length ? { filters } : {}),
    backendRefs: backendRefs(svc, port, rm),
  };
}

/** One HTTPRoute or GRPCRoute per HTTP/gRPC port of a service, parented by the Service (GAMMA). */
export function serviceRoutes(ctx: ExportContext, svc: ServiceModel): KubeObject[] {
  const out: KubeObject[] = [];
  for (const port of svc.ports) {
    const routes = svc.routes.map((rm, i) => [rm, i] as const).filter(([rm]) => rm.port === undefined || rm.port === port.name);
    if (port.protocol === 'tcp') {
      const split = (svc.routes[svc.routes.length - 1]?.backends ?? []).filter((b) => b.weight > 0);
      if (split.length > 1) {
        ctx.warn.add(`MeshService ${svc.namespace}/${svc.name}`, `ports.${port.name}`, 'GAMMA has no TCPRoute; the tcp port\'s version split is not exported (traffic goes to every version by endpoints)');
      }
      continue;
    }
    const grpc = port.protocol === 'grpc';
    const rules = routes.map(([rm, i]) => (grpc ? grpcRule : httpRule)(ctx, svc, port, rm, i)).filter((r) => r !== undefined);
    out.push({
      apiVersion: GATEWAY,
      kind: grpc ? 'GRPCRoute' : 'HTTPRoute',
      metadata: { name: `${svc.name}-${port.name}`, namespace: svc.namespace },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: svc.name, port: port.port }], rules },
    });
  }
  return out;
}

/** Traffic policy of each version Service (Istio as the GAMMA implementation applies it per backend host). */
export function versionDestinationRules(ctx: ExportContext, svc: ServiceModel): KubeObject[] {
  return svc.versions.map((v) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: versionServiceName(svc, v.name), namespace: svc.namespace },
    spec: { host: hostOf(ctx, versionServiceName(svc, v.name), svc.namespace), trafficPolicy: trafficPolicyOf(ctx, svc, svc.trafficPolicy) },
  }));
}
