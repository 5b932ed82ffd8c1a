/**
 * RouteModel → Envoy `Route` entries of a virtual host. One Envoy route per (rule × match), in
 * model order, so first-match semantics carry over. Proxyless renders leave out what gRPC NACKs.
 */
import type { HeaderMatchModel, HeaderModifierModel, MatchModel, PortModel, RetryModel, RouteModel, ServiceModel } from '../model';
import type { XdsObject } from './codec';
import { TYPES } from './protos';
import { type RouteMetadata, weftMeta } from './metadata';
import { dur, FILTER, fraction, versionCluster } from './util';

function stringMatch(m: { exact?: string; regex?: string }): XdsObject {
  return m.regex !== undefined ? { safe_regex: { regex: m.regex } } : { exact: m.exact ?? '' };
}

function headerMatcher(h: HeaderMatchModel): XdsObject {
  const spec = h.present !== undefined && h.exact === undefined && h.regex === undefined
    ? { present_match: h.present }
    : { string_match: stringMatch(h) };
  return { name: h.name, ...spec, ...(h.invert ? { invert_match: true } : {}) };
}

function queryMatcher(q: HeaderMatchModel): XdsObject {
  // QueryParameterMatcher has no invert; an inverted query match is carried in weft metadata.
  return q.present !== undefined && q.exact === undefined && q.regex === undefined
    ? { name: q.name, present_match: q.present }
    : { name: q.name, string_match: stringMatch(q) };
}

function routeMatch(m: MatchModel | undefined): XdsObject {
  const path = m?.path;
  const spec = path?.exact !== undefined ? { path: path.exact } : path?.regex !== undefined ? { safe_regex: { regex: path.regex } } : { prefix: path?.prefix ?? '' };
  const headers = [...(m?.headers ?? []).map(headerMatcher), ...(m?.method ? [{ name: ':method', string_match: { exact: m.method } }] : [])];
  const query = (m?.query ?? []).map(queryMatcher);
  return { ...spec, ...(headers.length ? { headers } : {}), ...(query.length ? { query_parameters: query } : {}) };
}

function headerOptions(h: HeaderModifierModel | undefined): XdsObject[] {
  if (!h) return [];
  return [
    ...Object.entries(h.set).map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })),
    ...Object.entries(h.add).map(([key, value]) => ({ header: { key, value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' })),
  ];
}

/** Envoy RetryPolicy from the model (`retry_on` uses Envoy's names, which are the model's). */
export function retryPolicy(r: RetryModel): XdsObject {
  return {
    retry_on: r.on.join(','),
    num_retries: { value: r.attempts },
    ...(r.perTryTimeoutMs !== undefined ? { per_try_timeout: dur(r.perTryTimeoutMs) } : {}),
    ...(r.retriableStatusCodes.length ? { retriable_status_codes: [...r.retriableStatusCodes] } : {}),
    retry_back_off: { base_interval: dur(r.backoffBaseMs), max_interval: dur(r.backoffMaxMs) },
  };
}

function faultConfig(f: NonNullable<RouteModel['fault']>): XdsObject {
  return {
    '@type': TYPES.FAULT,
    ...(f.delay ? { delay: { fixed_delay: dur(f.delay.fixedMs), percentage: fraction(f.delay.percent) } } : {}),
    ...(f.abort ? {
      abort: {
        ...(f.abort.grpcStatus !== undefined ? { grpc_status: f.abort.grpcStatus } : { http_status: f.abort.httpStatus }),
        percentage: fraction(f.abort.percent),
      },
    } : {}),
  };
}

const REDIRECT_CODES: Record<number, string> = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };

function routeAction(svc: ServiceModel, port: PortModel, rm: RouteModel, proxyless: boolean): XdsObject {
  const backends = rm.backends.filter((b) => b.weight > 0);
  const lb = svc.trafficPolicy.loadBalancer;
  const hash = lb.policy !== 'consistent-hash' ? [] : lb.hashHeader ? [{ header: { header_name: lb.hashHeader } }] : lb.hashCookie ? [{ cookie: { name: lb.hashCookie } }] : [];
  return {
    ...(backends.length === 1
      ? { cluster: versionCluster(svc, backends[0].version, port) }
      : { weighted_clusters: { clusters: backends.map((b) => ({ name: versionCluster(svc, b.version, port), weight: { value: b.weight } })) } }),
    ...(rm.timeoutMs !== undefined ? (proxyless ? { max_stream_duration: { max_stream_duration: dur(rm.timeoutMs) } } : { timeout: dur(rm.timeoutMs) }) : {}),
    ...(rm.retries ? { retry_policy: retryPolicy(rm.retries) } : {}),
    ...(hash.length ? { hash_policy: hash } : {}),
    ...(rm.mirror ? { request_mirror_policies: [{ cluster: versionCluster(svc, rm.mirror.version, port), runtime_fraction: { default_value: fraction(rm.mirror.percent) } }] } : {}),
  };
}

/** Whether a route can be given to a proxyless gRPC client (it NACKs redirects and direct responses). */
export function proxylessCanRoute(rm: RouteModel): boolean {
  return !rm.redirect && !rm.directResponse;
}

/** The Envoy routes of `svc` on HTTP port `port`, in evaluation order. */
export function renderRoutes(svc: ServiceModel, port: PortModel, proxyless: boolean): XdsObject[] {
  const out: XdsObject[] = [];
  for (const rm of svc.routes) {
    if (rm.port !== undefined && rm.port !== port.name) continue;
    if (proxyless && !proxylessCanRoute(rm)) continue;
    const matches: readonly (MatchModel | undefined)[] = rm.matches.length ? rm.matches : [undefined];
    matches.forEach((m, i) => {
      const invertedQuery = (m?.query ?? []).filter((q) => q.invert).map((q) => q.name);
      let redirectStatus: number | undefined;
      let action: XdsObject;
      if (rm.directResponse) {
        action = { direct_response: { status: rm.directResponse.status, ...(rm.directResponse.body !== undefined ? { body: { inline_string: rm.directResponse.body } } : {}) } };
      } else if (rm.redirect) {
        const r = rm.redirect;
        action = {
          redirect: {
            ...(r.scheme ? { scheme_redirect: r.scheme } : {}),
            ...(r.host ? { host_redirect: r.host } : {}),
            ...(r.path ? { path_redirect: r.path } : {}),
            ...(r.port ? { port_redirect: r.port } : {}),
            response_code: REDIRECT_CODES[r.status] ?? 'FOUND',
          },
        };
        if (!REDIRECT_CODES[r.status]) redirectStatus = r.status;
      } else {
        action = { route: routeAction(svc, port, rm, proxyless) };
      }
      const weft: RouteMetadata = {
        route: rm.name,
        ...(rm.source ? { source: rm.source } : {}),
        ...(invertedQuery.length ? { invertQuery: invertedQuery } : {}),
        ...(redirectStatus !== undefined ? { redirectStatus } : {}),
      };
      const req = headerOptions(rm.requestHeaders);
      const res = headerOptions(rm.responseHeaders);
      out.push({
        name: matches.length > 1 ? `${rm.name}#${i}` : rm.name,
        match: routeMatch(m),
        ...action,
        metadata: weftMeta('route', weft),
        ...(req.length ? { request_headers_to_add: req } : {}),
        ...(rm.requestHeaders?.remove.length ? { request_headers_to_remove: [...rm.requestHeaders.remove] } : {}),
        ...(res.length ? { response_headers_to_add: res } : {}),
        ...(rm.responseHeaders?.remove.length ? { response_headers_to_remove: [...rm.responseHeaders.remove] } : {}),
        ...(rm.fault && (rm.fault.delay || rm.fault.abort) ? { typed_per_filter_config: { [FILTER.FAULT]: faultConfig(rm.fault) } } : {}),
      });
    });
  }
  return out;
}

/** Every cluster the routes of `svc` on `port` send to or mirror to. */
export function routeClusters(svc: ServiceModel, port: PortModel): string[] {
  const names = new Set<string>();
  for (const rm of svc.routes) {
    if (rm.port !== undefined && rm.port !== port.name) continue;
    for (const b of rm.backends) names.add(versionCluster(svc, b.version, port));
    if (rm.mirror) names.add(versionCluster(svc, rm.mirror.version, port));
  }
  return [...names];
}
