/**
 * The mesh as Istio networking resources (networking.istio.io/v1): one VirtualService per service
 * (routes, weights, matches, timeouts, retries, faults, mirrors) and one DestinationRule (version
 * subsets, load balancer, connection pool, outlier detection).
 */
import type { HeaderMatchModel, HeaderModifierModel, MatchModel, RetryModel, RouteModel, ServiceModel, TrafficPolicyModel } from '../model';
import { type ExportContext, type KubeObject, hostOf, protoDuration, routeOwner } from './common';

const NETWORKING = 'networking.istio.io/v1';

/** gRPC status names Istio's fault abort takes (`grpcStatus: "UNAVAILABLE"`). */
const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

function stringMatch(m: { exact?: string; prefix?: string; regex?: string }): Record<string, string> {
  if (m.regex !== undefined) return { regex: m.regex };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  return { exact: m.exact ?? '' };
}

/** A header/query condition; `present` becomes the regex `.*` (Istio has no presence match). */
function valueMatch(h: HeaderMatchModel): Record<string, string> {
  if (h.exact === undefined && h.regex === undefined) return { regex: '.*' };
  return stringMatch(h);
}

function matchOf(ctx: ExportContext, svc: ServiceModel, rm: RouteModel, m: MatchModel, port: number | undefined, field: string): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  const without: Record<string, unknown> = {};
  for (const h of m.headers) {
    // present: false is the same as "without a header matching .*"
    const negate = h.invert !== (h.present === false);
    (negate ? without : headers)[h.name] = valueMatch(h);
  }
  const query: Record<string, unknown> = {};
  for (const q of m.query) {
    if (q.invert || q.present === false) {
      ctx.warn.add(routeOwner(svc, rm.source), `${field}.query.${q.name}`, 'Istio cannot match on the absence of a query parameter; the condition is left out, so the route matches more requests');
      continue;
    }
    query[q.name] = valueMatch(q);
  }
  return {
    ...(m.path ? { uri: stringMatch(m.path) } : {}),
    ...(m.method ? { method: { exact: m.method } } : {}),
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(Object.keys(without).length ? { withoutHeaders: without } : {}),
    ...(Object.keys(query).length ? { queryParams: query } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

function retriesOf(ctx: ExportContext, svc: ServiceModel, rm: RouteModel, r: RetryModel, field: string): Record<string, unknown> {
  if (r.backoffBaseMs !== 25 || r.backoffMaxMs !== 250) {
    ctx.warn.add(routeOwner(svc, rm.source), `${field}.backoff`, `Istio has no retry backoff setting; Envoy's default (25ms, cap 250ms) applies instead of ${r.backoffBaseMs}ms/${r.backoffMaxMs}ms`);
  }
  const on = [...r.on, ...r.retriableStatusCodes.map(String)];
  return {
    attempts: r.attempts,
    ...(r.perTryTimeoutMs !== undefined ? { perTryTimeout: protoDuration(r.perTryTimeoutMs) } : {}),
    ...(on.length ? { retryOn: on.join(',') } : {}),
  };
}

function headersOf(mod: HeaderModifierModel | undefined): Record<string, unknown> | undefined {
  if (!mod) return undefined;
  const out = {
    ...(Object.keys(mod.set).length ? { set: { ...mod.set } } : {}),
    ...(Object.keys(mod.add).length ? { add: { ...mod.add } } : {}),
    ...(mod.remove.length ? { remove: [...mod.remove] } : {}),
  };
  return Object.keys(out).length ? out : undefined;
}

function httpRoute(ctx: ExportContext, svc: ServiceModel, rm: RouteModel, index: number): Record<string, unknown> {
  const host = hostOf(ctx, svc.name, svc.namespace);
  const field = `routes[${rm.name}]`;
  const port = rm.port !== undefined ? svc.ports.find((p) => p.name === rm.port)?.port : undefined;
  const matches = rm.matches.map((m, i) => matchOf(ctx, svc, rm, m, port, `${field}.match[${i}]`));
  if (!matches.length && port !== undefined) matches.push({ port });
  const req = headersOf(rm.requestHeaders);
  const res = headersOf(rm.responseHeaders);
  const out: Record<string, unknown> = { name: rm.name, ...(matches.length ? { match: matches } : {}) };
  if (rm.redirect) {
    const r = rm.redirect;
    out.redirect = { ...(r.path ? { uri: r.path } : {}), ...(r.host ? { authority: r.host } : {}), ...(r.scheme ? { scheme: r.scheme } : {}), ...(r.port ? { port: r.port } : {}), redirectCode: r.status };
  } else if (rm.directResponse) {
    out.directResponse = { status: rm.directResponse.status, ...(rm.directResponse.body !== undefined ? { body: { string: rm.directResponse.body } } : {}) };
  } else {
    out.route = rm.backends.filter((b) => b.weight > 0).map((b) => ({ destination: { host, subset: b.version }, weight: b.weight }));
  }
  if (rm.timeoutMs !== undefined) out.timeout = protoDuration(rm.timeoutMs);
  if (rm.retries) out.retries = retriesOf(ctx, svc, rm, rm.retries, `${field}.retries`);
  if (req || res) out.headers = { ...(req ? { request: req } : {}), ...(res ? { response: res } : {}) };
  if (rm.mirror) {
    out.mirror = { host, subset: rm.mirror.version };
    out.mirrorPercentage = { value: rm.mirror.percent };
  }
  if (rm.fault && (rm.fault.delay || rm.fault.abort)) {
    const f = rm.fault;
    out.fault = {
      ...(f.delay ? { delay: { fixedDelay: protoDuration(f.delay.fixedMs), percentage: { value: f.delay.percent } } } : {}),
      ...(f.abort ? {
        abort: {
          ...(f.abort.grpcStatus !== undefined ? { grpcStatus: GRPC_NAMES[f.abort.grpcStatus] ?? 'UNKNOWN' } : { httpStatus: f.abort.httpStatus ?? 503 }),
          percentage: { value: f.abort.percent },
        },
      } : {}),
    };
  }
  return out;
}

/** The VirtualService of one service: every HTTP route in order, and the TCP ports' version split. */
export function virtualService(ctx: ExportContext, svc: ServiceModel): KubeObject {
  const host = hostOf(ctx, svc.name, svc.namespace);
  const httpPorts = svc.ports.filter((p) => p.protocol !== 'tcp');
  const tcpPorts = svc.ports.filter((p) => p.protocol === 'tcp');
  const http = httpPorts.length ? svc.routes.map((rm, i) => httpRoute(ctx, svc, rm, i)).filter((r, i) => {
    const rm = svc.routes[i];
    return rm.port === undefined || httpPorts.some((p) => p.name === rm.port);
  }) : [];
  const last = svc.routes[svc.routes.length - 1];
  const tcp = tcpPorts.map((p) => ({
    match: [{ port: p.port }],
    route: (last?.backends ?? []).filter((b) => b.weight > 0).map((b) => ({ destination: { host, subset: b.version, port: { number: p.port } }, weight: b.weight })),
  }));
  return {
    apiVersion: NETWORKING,
    kind: 'VirtualService',
    metadata: { name: svc.name, namespace: svc.namespace },
    spec: { hosts: [host], ...(http.length ? { http } : {}), ...(tcp.length ? { tcp } : {}) },
  };
}

/** Load balancer, connection pool and outlier detection as an Istio trafficPolicy. */
export function trafficPolicyOf(ctx: ExportContext, svc: ServiceModel, tp: TrafficPolicyModel): Record<string, unknown> {
  const owner = `MeshService ${svc.namespace}/${svc.name}`;
  const lb = tp.loadBalancer;
  let loadBalancer: Record<string, unknown>;
  if (lb.policy === 'consistent-hash') {
    loadBalancer = { consistentHash: lb.hashHeader ? { httpHeaderName: lb.hashHeader } : lb.hashCookie ? { httpCookie: { name: lb.hashCookie, ttl: '0s' } } : { useSourceIp: true } };
  } else if (lb.policy === 'round-robin') {
    loadBalancer = { simple: 'ROUND_ROBIN' };
  } else {
    if (lb.policy === 'peak-ewma') ctx.warn.add(owner, 'trafficPolicy.loadBalancer', 'peak-EWMA is weft\'s own balancer; exported as LEAST_REQUEST, the nearest Istio has');
    loadBalancer = { simple: 'LEAST_REQUEST' };
  }
  const c = tp.connectionLimits;
  const tcpPool = c.maxConnections !== undefined ? { maxConnections: c.maxConnections } : undefined;
  const httpPool = {
    ...(c.maxPendingRequests !== undefined ? { http1MaxPendingRequests: c.maxPendingRequests } : {}),
    ...(c.maxRequests !== undefined ? { http2MaxRequests: c.maxRequests } : {}),
    ...(c.maxRequestsPerConnection !== undefined ? { maxRequestsPerConnection: c.maxRequestsPerConnection } : {}),
  };
  const od = tp.outlierDetection;
  if (od?.successRate) ctx.warn.add(owner, 'trafficPolicy.outlierDetection.successRate', 'Istio has no success-rate ejection; only the consecutive-error ejection is exported');
  if (tp.rateLimit) ctx.warn.add(owner, 'trafficPolicy.rateLimit', 'Istio has no local rate limit resource (it takes an EnvoyFilter); not exported');
  return {
    loadBalancer,
    ...(tcpPool || Object.keys(httpPool).length ? { connectionPool: { ...(tcpPool ? { tcp: tcpPool } : {}), ...(Object.keys(httpPool).length ? { http: httpPool } : {}) } } : {}),
    ...(od ? {
      outlierDetection: {
        ...(od.consecutive5xx !== undefined ? { consecutive5xxErrors: od.consecutive5xx } : {}),
        ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayErrors: od.consecutiveGatewayErrors } : {}),
        interval: protoDuration(od.intervalMs),
        baseEjectionTime: protoDuration(od.baseEjectionTimeMs),
        maxEjectionPercent: od.maxEjectionPercent,
      },
    } : {}),
  };
}

/** The DestinationRule of one service: a subset per version (label `version`) and its traffic policy. */
export function destinationRule(ctx: ExportContext, svc: ServiceModel): KubeObject {
  return {
    apiVersion: NETWORKING,
    kind: 'DestinationRule',
    metadata: { name: svc.name, namespace: svc.namespace },
    spec: {
      host: hostOf(ctx, svc.name, svc.namespace),
      trafficPolicy: trafficPolicyOf(ctx, svc, svc.trafficPolicy),
      subsets: svc.versions.map((v) => ({ name: v.name, labels: { version: v.name } })),
    },
  };
}
