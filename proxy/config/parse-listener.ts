/**
 * Parses an Envoy v3 Listener: each filter chain's HttpConnectionManager (or `api_listener` for
 * proxyless-style listeners), the route table it uses (RDS name or inline), the local rate limit,
 * and weft metadata (direction, authorization data). The router must be the last HTTP filter.
 */
import { resolveAuthz } from '../../api/xds/metadata';
import { Reader, deepFreeze, weftMetadata } from './fields';
import { weftRateLimit } from './parse-cluster';
import { parseRouteConfiguration, parseTokenBucket } from './parse-route';
import type { FilterChainConfig, ListenerConfig, RouteTable, TokenBucketConfig } from './types';

/** HTTP filters weft understands; others must be marked `is_optional` (gRFC A39). */
const KNOWN_FILTERS = [/\.Router$/, /\.HTTPFault$/, /\.LocalRateLimit$/, /\.RBAC$/];

const DIRECTIONS = ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'] as const;

/** Result of one Listener: its config and the inline route tables its HCMs carried. */
export interface ParsedListener {
  readonly listener: ListenerConfig;
  readonly inlineRoutes: readonly RouteTable[];
}

function parseHcm(hcm: Reader, fallbackName: string, inline: RouteTable[]): { routeTable: string; rateLimit?: TokenBucketConfig; maxStreamDurationMs?: number } {
  let routeTable = '';
  let rateLimit: TokenBucketConfig | undefined;
  const rds = hcm.child('rds');
  const rc = hcm.child('route_config');
  if (rds && rc) hcm.problem(undefined, 'has both rds and route_config');
  else if (rds) routeTable = rds.str('route_config_name', true) ?? '';
  else if (rc) {
    let t = parseRouteConfiguration(rc);
    if (t && !t.name) t = { ...t, name: `listener:${fallbackName}` };
    if (t) inline.push(t);
    routeTable = t?.name ?? '';
  } else hcm.problem(undefined, 'needs rds or route_config');
  const filters = hcm.list('http_filters');
  filters.forEach((f, i) => {
    const typed = f.child('typed_config');
    const url = typed?.typeUrl() ?? '';
    const isRouter = /\.Router$/.test(url) || f.str('name') === 'envoy.filters.http.router';
    if (isRouter !== (i === filters.length - 1)) f.problem(undefined, isRouter ? 'the router filter must be the last HTTP filter' : 'the last HTTP filter must be the router');
    if (!isRouter && !KNOWN_FILTERS.some((k) => k.test(url)) && !f.bool('is_optional')) f.problem('typed_config', `unsupported HTTP filter ${url || f.str('name')}; mark it is_optional to skip it`);
    if (/\.LocalRateLimit$/.test(url) && typed!.has('token_bucket')) rateLimit = parseTokenBucket(typed!);
  });
  if (filters.length === 0) hcm.problem('http_filters', 'must end with the router filter');
  const maxStreamDurationMs = hcm.child('common_http_protocol_options')?.duration('max_stream_duration') || undefined;
  return { routeTable, rateLimit, maxStreamDurationMs };
}

/** A tcp_proxy's `cluster` or `weighted_clusters` (zero weights dropped); problems as for routes. */
function parseTcpProxy(typed: Reader): FilterChainConfig['tcpClusters'] {
  const cluster = typed.str('cluster');
  const weighted = typed.child('weighted_clusters');
  if (cluster !== undefined && weighted) typed.problem(undefined, 'has both cluster and weighted_clusters');
  if (cluster !== undefined) return [{ name: cluster, weight: 1 }];
  if (!weighted) return [];
  const clusters = weighted.list('clusters').map((c) => ({ name: c.str('name', true) ?? '', weight: c.num('weight', { min: 0, integer: true }) ?? 0 }));
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  if (clusters.length === 0) weighted.problem('clusters', 'must not be empty');
  else if (sum <= 0) weighted.problem('clusters', 'sum of weights is 0');
  else if (sum > 0xffffffff) weighted.problem('clusters', `sum of weights ${sum} exceeds 2^32-1`);
  return clusters.filter((c) => c.weight > 0);
}

function parseChain(chain: Reader, index: number, listenerName: string, inline: RouteTable[]): FilterChainConfig {
  const name = chain.str('name') ?? `${listenerName}#${index}`;
  const destinationPort = chain.child('filter_chain_match')?.num('destination_port', { min: 1, max: 65535, integer: true });
  const meta = weftMetadata(chain, 'filterChain');
  const servicePort = meta?.num('servicePort', { min: 1, max: 65535, integer: true });
  const mtlsMode = meta?.enumOf('mtlsMode', ['STRICT', 'PERMISSIVE', 'DISABLE'] as const);
  const ports = { destinationPort, ...(servicePort !== undefined ? { servicePort } : {}), ...(mtlsMode ? { mtlsMode } : {}) };
  let tcpClusters: FilterChainConfig['tcpClusters'];
  for (const f of chain.list('filters')) {
    const typed = f.child('typed_config');
    if (typed && /HttpConnectionManager$/.test(typed.typeUrl() ?? '')) {
      return { name, ...ports, tcp: false, ...parseHcm(typed, name, inline) };
    }
    if (typed && /TcpProxy$/.test(typed.typeUrl() ?? '') && !tcpClusters) tcpClusters = parseTcpProxy(typed);
  }
  return { name, ...ports, routeTable: '', tcp: true, ...(tcpClusters?.length ? { tcpClusters } : {}) };
}

/** Envoy Listener → ListenerConfig; undefined when any problem was recorded. */
export function parseListener(r: Reader): ParsedListener | undefined {
  const before = r.problems.length;
  const name = r.str('name', true) ?? '';
  const meta = weftMetadata(r, 'listener');
  const sa = r.child('address')?.child('socket_address');
  const td = r.enumOf('traffic_direction', DIRECTIONS) ?? 'UNSPECIFIED';
  const md = meta?.str('direction');
  const direction = td === 'INBOUND' || (td === 'UNSPECIFIED' && md === 'inbound') ? 'inbound' : td === 'OUTBOUND' || md === 'outbound' ? 'outbound' : 'unspecified';
  const inlineRoutes: RouteTable[] = [];
  const chains: FilterChainConfig[] = [];
  const api = r.child('api_listener')?.child('api_listener');
  if (api) chains.push({ name, tcp: false, ...parseHcm(api, name, inlineRoutes) });
  const all = [...r.list('filter_chains'), ...(r.has('default_filter_chain') ? [r.child('default_filter_chain')!] : [])];
  all.forEach((c, i) => chains.push(parseChain(c, i, name, inlineRoutes)));
  if (chains.length === 0) r.problem(undefined, 'needs an api_listener, filter_chains or a default_filter_chain');
  const firstHttp = chains.find((c) => !c.tcp);
  const authz = meta?.raw('authz');
  const servicePort = meta?.num('servicePort', { min: 1, max: 65535, integer: true });
  const listener: ListenerConfig = {
    name,
    direction,
    address: sa?.str('address'),
    port: sa?.num('port_value', { min: 0, max: 65535, integer: true }),
    routeTable: firstHttp?.routeTable ?? '',
    chains,
    rateLimit: firstHttp?.rateLimit ?? weftRateLimit(meta),
    maxStreamDurationMs: firstHttp?.maxStreamDurationMs,
    // checked against authzMetadataSchema by weftMetadata (a bad value NACKs the listener)
    authz: authz === undefined || r.problems.length > before ? undefined : deepFreeze(resolveAuthz(authz)),
    identity: meta?.str('identity'),
    ...(servicePort !== undefined ? { servicePort } : {}),
  };
  return r.problems.length === before ? { listener, inlineRoutes } : undefined;
}
