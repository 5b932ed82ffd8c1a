/**
 * Parses an Envoy v3 RouteConfiguration into a RouteTable (gRFC A28 routing, A31 timeouts, A44
 * retries, fault injection, mirroring, hash policy). Anything a layer could trip over is a problem here.
 */
import { Reader, readPercent, weftMetadata } from './fields';
import { parseHeaderMutation, parseRouteMatch } from './parse-match';
import type {
  DirectResponseAction, DomainPattern, FaultPolicy, ForwardAction, HashPolicy, RedirectAction, RetryPolicy, Route, RouteTable,
  TokenBucketConfig, VirtualHost,
} from './types';

/** Retry conditions we implement (Envoy `retry_on` tokens and gRPC ones from A44). */
export const RETRY_CONDITIONS = new Set([
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** A44 caps attempts at 5 (first try + 4 retries). */
export const MAX_RETRIES = 4;

/** Envoy RetryPolicy → RetryPolicy. Unknown conditions are ignored, as gRPC and Envoy do. */
export function parseRetryPolicy(r: Reader): RetryPolicy | undefined {
  const on = new Set((r.str('retry_on') ?? '').split(',').map((s) => s.trim()).filter((s) => RETRY_CONDITIONS.has(s)));
  const numRetries = Math.min(r.num('num_retries', { min: 0, integer: true }) ?? 1, MAX_RETRIES);
  const codes = (r.raw('retriable_status_codes') as unknown[] | undefined) ?? [];
  if (!Array.isArray(codes) || codes.some((c) => (typeof c !== 'number' && typeof c !== 'string') || !Number.isInteger(Number(c)) || Number(c) < 100 || Number(c) > 599)) {
    r.problem('retriable_status_codes', 'must be a list of HTTP status codes (100–599)');
  }
  const backoff = r.child('retry_back_off');
  const backoffBaseMs = backoff?.duration('base_interval') ?? 25;
  if (backoff && backoffBaseMs <= 0) backoff.problem('base_interval', 'must be > 0 (gRFC A44)');
  const backoffMaxMs = backoff?.duration('max_interval') ?? backoffBaseMs * 10;
  if (backoffMaxMs < backoffBaseMs) backoff?.problem('max_interval', `must be ≥ base_interval (${backoffBaseMs}ms), got ${backoffMaxMs}ms`);
  const perTry = r.duration('per_try_timeout');
  return {
    on,
    numRetries,
    retriableStatusCodes: new Set(Array.isArray(codes) ? codes.filter((c) => typeof c === 'number' || typeof c === 'string').map(Number) : []),
    perTryTimeoutMs: perTry ? perTry : undefined,
    backoffBaseMs,
    backoffMaxMs,
  };
}

/** A per-filter config entry (Any, or FilterConfig{config: Any}) whose type ends with `suffix`. */
function perFilter(r: Reader, suffix: string): Reader | undefined {
  const map = r.child('typed_per_filter_config');
  if (!map) return undefined;
  for (const key of Object.keys(map.obj)) {
    let any = map.child(key);
    if (any && !any.typeUrl() && any.child('config')) any = any.child('config');
    if (any?.typeUrl()?.endsWith(suffix)) return any;
  }
  return undefined;
}

/** Envoy HTTPFault (type `envoy.extensions.filters.http.fault.v3.HTTPFault`). */
export function parseFault(r: Reader): FaultPolicy | undefined {
  const d = r.child('delay');
  const a = r.child('abort');
  const delay = d ? { ms: d.duration('fixed_delay') ?? 0, percent: readPercent(d.child('percentage')) ?? 100 } : undefined;
  if (d && !d.has('fixed_delay')) d.problem('fixed_delay', 'is required (header-controlled delay is not supported)');
  let abort: FaultPolicy['abort'];
  if (a) {
    const httpStatus = a.num('http_status', { min: 200, max: 599, integer: true });
    const grpcStatus = a.num('grpc_status', { min: 0, max: 16, integer: true });
    if (httpStatus === undefined && grpcStatus === undefined) a.problem(undefined, 'needs http_status or grpc_status');
    abort = { httpStatus, grpcStatus, percent: readPercent(a.child('percentage')) ?? 100 };
  }
  return delay || abort ? { delay, abort } : undefined;
}

/** Envoy LocalRateLimit's token bucket. */
export function parseTokenBucket(r: Reader): TokenBucketConfig | undefined {
  const tb = r.child('token_bucket');
  if (!tb) {
    r.problem('token_bucket', 'is required');
    return undefined;
  }
  const maxTokens = tb.num('max_tokens', { min: 1, integer: true, required: true });
  const tokensPerFill = tb.num('tokens_per_fill', { min: 1, integer: true }) ?? 1;
  const fillIntervalMs = tb.duration('fill_interval');
  if (fillIntervalMs === undefined || fillIntervalMs <= 0) tb.problem('fill_interval', 'is required and must be > 0');
  return maxTokens && fillIntervalMs ? { maxTokens, tokensPerFill, fillIntervalMs } : undefined;
}

function parseHashPolicy(r: Reader): HashPolicy | undefined {
  const terminal = r.bool('terminal') ?? false;
  const header = r.child('header');
  if (header) return { kind: 'header', name: (header.str('header_name', true) ?? '').toLowerCase(), terminal };
  const cookie = r.child('cookie');
  if (cookie) return { kind: 'cookie', name: cookie.str('name', true) ?? '', terminal };
  const query = r.child('query_parameter');
  if (query) return { kind: 'query', name: query.str('name', true) ?? '', terminal };
  const conn = r.child('connection_properties');
  if (conn?.bool('source_ip')) return { kind: 'source-ip', terminal };
  return undefined; // filter_state and unknown kinds are ignored (gRFC A42)
}

const REDIRECT_CODES = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'] as const;
const REDIRECT_STATUS: Record<(typeof REDIRECT_CODES)[number], number> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

function parseForward(r: Reader, vhostRetry: RetryPolicy | undefined): ForwardAction | undefined {
  let clusters: { name: string; weight: number }[] = [];
  const cluster = r.str('cluster');
  const weighted = r.child('weighted_clusters');
  if (cluster !== undefined) clusters = [{ name: cluster, weight: 1 }];
  else if (weighted) {
    clusters = weighted.list('clusters').map((c) => ({ name: c.str('name', true) ?? '', weight: c.num('weight', { min: 0, integer: true }) ?? 0 }));
    const sum = clusters.reduce((s, c) => s + c.weight, 0);
    if (clusters.length === 0) weighted.problem('clusters', 'must not be empty');
    else if (sum <= 0) weighted.problem('clusters', 'sum of weights is 0');
    else if (sum > 0xffffffff) weighted.problem('clusters', `sum of weights ${sum} exceeds 2^32-1`);
    clusters = clusters.filter((c) => c.weight > 0);
  } else if (r.has('cluster_header')) {
    r.problem('cluster_header', 'is not supported by weft; use cluster or weighted_clusters');
    return undefined;
  } else {
    r.problem(undefined, 'needs cluster or weighted_clusters');
    return undefined;
  }
  if (clusters.some((c) => c.name === '')) r.problem('cluster', 'cluster names must not be empty');
  const msd = r.child('max_stream_duration');
  const retryR = r.child('retry_policy');
  const timeoutMs = r.duration('timeout');
  const mirrors = r.list('request_mirror_policies').map((m) => ({
    cluster: m.str('cluster', true) ?? '',
    percent: readPercent(m.child('runtime_fraction')) ?? 100,
  }));
  return {
    kind: 'forward',
    clusters,
    totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
    timeoutMs: timeoutMs ? timeoutMs : undefined,
    maxStreamDurationMs: msd?.duration('max_stream_duration') || undefined,
    grpcTimeoutHeaderMaxMs: msd?.duration('grpc_timeout_header_max'),
    retry: retryR ? parseRetryPolicy(retryR) : vhostRetry,
    hashPolicy: r.list('hash_policy').map(parseHashPolicy).filter((h): h is HashPolicy => h !== undefined),
    mirrors,
    prefixRewrite: r.str('prefix_rewrite'),
    hostRewrite: r.str('host_rewrite_literal'),
  };
}

function parseRedirect(r: Reader): RedirectAction {
  const code = r.enumOf('response_code', REDIRECT_CODES);
  return {
    kind: 'redirect',
    scheme: r.bool('https_redirect') ? 'https' : r.str('scheme_redirect'),
    host: r.str('host_redirect'),
    port: r.num('port_redirect', { min: 1, max: 65535, integer: true }),
    path: r.str('path_redirect'),
    prefixRewrite: r.str('prefix_rewrite'),
    stripQuery: r.bool('strip_query') ?? false,
    status: code ? REDIRECT_STATUS[code] : 301,
  };
}

function parseDirect(r: Reader): DirectResponseAction {
  const status = r.num('status', { min: 100, max: 599, integer: true, required: true }) ?? 500;
  const body = r.child('body');
  let text = body?.str('inline_string');
  const bytes = body?.raw('inline_bytes');
  if (text === undefined && typeof bytes === 'string') text = Buffer.from(bytes, 'base64').toString('utf8');
  return { kind: 'direct', status, body: text };
}

function parseRoute(r: Reader, vhostName: string, index: number, vhostRetry: RetryPolicy | undefined): Route | undefined {
  const meta = weftMetadata(r, 'route');
  const weftRoute = meta?.str('route');
  const source = meta?.str('source');
  const name = weftRoute !== undefined ? (source ? `${source}/${weftRoute}` : weftRoute) : r.str('name') ?? `${vhostName}/${index}`;
  const matchR = r.child('match');
  if (!matchR) r.problem('match', 'is required');
  const match = matchR ? parseRouteMatch(matchR, meta?.strings('invert_query') ?? []) : undefined;
  let action: Route['action'] | undefined;
  const route = r.child('route');
  const redirect = r.child('redirect');
  const direct = r.child('direct_response');
  if ([route, redirect, direct].filter(Boolean).length !== 1) {
    r.problem(undefined, 'needs exactly one of route, redirect, direct_response');
  } else if (route) action = parseForward(route, vhostRetry);
  else if (redirect) {
    const status = meta?.num('redirect_status', { min: 300, max: 399, integer: true });
    action = { ...parseRedirect(redirect), ...(status !== undefined ? { status } : {}) };
  }
  else action = parseDirect(direct!);
  const faultR = perFilter(r, 'HTTPFault');
  const rlR = perFilter(r, 'LocalRateLimit');
  if (!match || !action) return undefined;
  return {
    name,
    match,
    action,
    requestHeaders: parseHeaderMutation(r, 'request'),
    responseHeaders: parseHeaderMutation(r, 'response'),
    fault: faultR ? parseFault(faultR) : undefined,
    rateLimit: rlR ? parseTokenBucket(rlR) : undefined,
  };
}

/** A28 domain pattern: exact, `*.suffix`, `prefix.*` or `*`; at most one wildcard, at an end. */
function parseDomain(r: Reader, d: string): DomainPattern | undefined {
  const v = d.toLowerCase();
  if (v === '*') return { kind: 'any', value: '' };
  const stars = v.split('*').length - 1;
  if (stars === 0) return { kind: 'exact', value: v };
  if (stars === 1 && v.startsWith('*')) return { kind: 'suffix', value: v.slice(1) };
  if (stars === 1 && v.endsWith('*')) return { kind: 'prefix', value: v.slice(0, -1) };
  r.problem('domains', `invalid domain pattern ${JSON.stringify(d)}: one wildcard, at the start or end`);
  return undefined;
}

function parseVirtualHost(r: Reader): VirtualHost | undefined {
  const name = r.str('name', true) ?? '';
  const domains = r.strings('domains').map((d) => parseDomain(r, d));
  if (domains.length === 0) r.problem('domains', 'must not be empty');
  const retryR = r.child('retry_policy');
  const vhostRetry = retryR ? parseRetryPolicy(retryR) : undefined;
  const routes = r.list('routes').map((route, i) => parseRoute(route, name, i, vhostRetry));
  if (domains.includes(undefined) || routes.includes(undefined)) return undefined;
  return {
    name,
    domains: domains as DomainPattern[],
    routes: routes as Route[],
    requestHeaders: parseHeaderMutation(r, 'request'),
    responseHeaders: parseHeaderMutation(r, 'response'),
  };
}

/** Envoy RouteConfiguration → RouteTable; undefined when any problem was recorded. */
export function parseRouteConfiguration(r: Reader): RouteTable | undefined {
  const before = r.problems.length;
  const name = r.str('name', true) ?? '';
  const virtualHosts = r.list('virtual_hosts').map(parseVirtualHost);
  const seen = new Set<string>();
  for (const vh of virtualHosts) {
    for (const d of vh?.domains ?? []) {
      const key = `${d.kind}:${d.value}`;
      if (seen.has(key)) r.problem('virtual_hosts', `domain ${d.kind === 'any' ? '*' : d.value} appears in more than one virtual host`);
      seen.add(key);
    }
  }
  const table: RouteTable = {
    name,
    virtualHosts: virtualHosts.filter((v): v is VirtualHost => v !== undefined),
    requestHeaders: parseHeaderMutation(r, 'request'),
    responseHeaders: parseHeaderMutation(r, 'response'),
  };
  return r.problems.length === before ? table : undefined;
}

