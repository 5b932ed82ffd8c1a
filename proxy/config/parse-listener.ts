/**
 * Parses an Envoy v3 Listener: its HttpConnectionManager (from `api_listener` for proxyless-style
 * listeners or the first filter chain), the route table it uses (RDS name or inline), and the
 * listener-wide local rate limit. The router must be the last HTTP filter.
 */
import { Reader } from './fields';
import { parseRouteConfiguration, parseTokenBucket } from './parse-route';
import type { ListenerConfig, RouteTable, TokenBucketConfig } from './types';

/** HTTP filters weft understands; others must be marked `is_optional` (gRFC A39). */
const KNOWN_FILTERS = [/\.Router$/, /\.HTTPFault$/, /\.LocalRateLimit$/, /\.RBAC$/];

const DIRECTIONS = ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'] as const;

function findHcm(r: Reader): Reader | undefined {
  const api = r.child('api_listener')?.child('api_listener');
  if (api) return api;
  const chains = [...r.list('filter_chains'), ...(r.child('default_filter_chain') ? [r.child('default_filter_chain')!] : [])];
  for (const chain of chains) {
    for (const f of chain.list('filters')) {
      const typed = f.child('typed_config');
      if (typed && /HttpConnectionManager$/.test(typed.typeUrl() ?? '')) return typed;
    }
  }
  return undefined;
}

/** Result of one Listener: its config and, when the HCM carried one, the inline route table. */
export interface ParsedListener {
  readonly listener: ListenerConfig;
  readonly inlineRoutes?: RouteTable;
}

/** Envoy Listener → ListenerConfig; undefined when any problem was recorded. */
export function parseListener(r: Reader): ParsedListener | undefined {
  const before = r.problems.length;
  const name = r.str('name', true) ?? '';
  const sa = r.child('address')?.child('socket_address');
  const direction = r.enumOf('traffic_direction', DIRECTIONS) ?? 'UNSPECIFIED';
  const hcm = findHcm(r);
  let routeTable = '';
  let inlineRoutes: RouteTable | undefined;
  let rateLimit: TokenBucketConfig | undefined;
  let maxStreamDurationMs: number | undefined;
  if (hcm) {
    const rds = hcm.child('rds');
    const inline = hcm.child('route_config');
    if (rds && inline) hcm.problem(undefined, 'has both rds and route_config');
    else if (rds) routeTable = rds.str('route_config_name', true) ?? '';
    else if (inline) {
      inlineRoutes = parseRouteConfiguration(inline);
      if (inlineRoutes && !inlineRoutes.name) inlineRoutes = { ...inlineRoutes, name: `listener:${name}` };
      routeTable = inlineRoutes?.name ?? '';
    } else hcm.problem(undefined, 'needs rds or route_config');
    const filters = hcm.list('http_filters');
    filters.forEach((f, i) => {
      const url = f.child('typed_config')?.typeUrl() ?? '';
      const isRouter = /\.Router$/.test(url) || f.str('name') === 'envoy.filters.http.router';
      if (isRouter !== (i === filters.length - 1)) f.problem(undefined, isRouter ? 'the router filter must be the last HTTP filter' : 'the last HTTP filter must be the router');
      if (!isRouter && !KNOWN_FILTERS.some((k) => k.test(url)) && !f.bool('is_optional')) f.problem('typed_config', `unsupported HTTP filter ${url || f.str('name')}; mark it is_optional to skip it`);
      if (/\.LocalRateLimit$/.test(url) && f.child('typed_config')!.has('token_bucket')) rateLimit = parseTokenBucket(f.child('typed_config')!);
    });
    if (filters.length === 0) hcm.problem('http_filters', 'must end with the router filter');
    maxStreamDurationMs = hcm.child('common_http_protocol_options')?.duration('max_stream_duration') || undefined;
  }
  const listener: ListenerConfig = {
    name,
    direction: direction === 'INBOUND' ? 'inbound' : direction === 'OUTBOUND' ? 'outbound' : 'unspecified',
    address: sa?.str('address'),
    port: sa?.num('port_value', { min: 0, max: 65535, integer: true }),
    routeTable,
    rateLimit,
    maxStreamDurationMs,
  };
  return r.problems.length === before ? { listener, inlineRoutes } : undefined;
}
