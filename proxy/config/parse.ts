/**
 * The config boundary: decoded xDS resources in, frozen `ProxyConfig` out. `parseXdsResources`
 * keeps valid resources and reports invalid ones per resource (gRFC A46: the xDS client NACKs with
 * that text and the last good version of each rejected resource stays); `parseXds` rejects whole.
 */
import { InvalidConfigError } from '../../api/errors';
import { Reader, deepFreeze } from './fields';
import { parseCluster, parseClusterLoadAssignment } from './parse-cluster';
import { type ParsedListener, parseListener } from './parse-listener';
import { parseRouteConfiguration } from './parse-route';
import type { ClusterConfig, EndpointSet, ListenerConfig, ProxyConfig, RouteTable } from './types';

/** Decoded xDS resources by type; an absent list leaves that type as it was. */
export interface XdsResources {
  readonly listeners?: readonly unknown[];
  readonly routes?: readonly unknown[];
  readonly clusters?: readonly unknown[];
  readonly endpoints?: readonly unknown[];
}

export type ResourceType = 'listener' | 'route' | 'cluster' | 'endpoint';

/** Why one resource was rejected. */
export interface ResourceError {
  readonly type: ResourceType;
  readonly name: string;
  readonly problems: readonly string[];
}

/** What a partial parse produced. */
export interface ParseResult {
  /** The new config: valid resources applied, rejected ones at their last good version. */
  readonly config: ProxyConfig;
  /** Every rejected resource; empty when all were valid. */
  readonly errors: readonly ResourceError[];
}

/** A config with nothing in it (before the first xDS response). */
export function emptyConfig(version = ''): ProxyConfig {
  return deepFreeze({ version, listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map(), inlineRouteNames: new Set<string>() });
}

function nameOf(value: unknown, key: string, index: number): string {
  if (typeof value === 'object' && value !== null) {
    const v = (value as Record<string, unknown>)[key] ?? (value as Record<string, unknown>)[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (typeof v === 'string' && v) return v;
  }
  return `#${index}`;
}

/** Parses one type: valid entries into `out`, one ResourceError per invalid entry. */
function parseType<T>(
  type: ResourceType,
  list: readonly unknown[],
  nameKey: string,
  parse: (r: Reader) => T | undefined,
  previous: ReadonlyMap<string, unknown>,
  out: Map<string, T>,
  errors: ResourceError[],
): void {
  const seen = new Set<string>();
  list.forEach((value, i) => {
    const name = nameOf(value, nameKey, i);
    const problems: string[] = [];
    if (seen.has(name)) problems.push(`duplicate ${type} name ${name}`);
    seen.add(name);
    const parsed = problems.length ? undefined : parse(Reader.of(value, '', problems));
    if (parsed !== undefined && problems.length === 0) {
      out.set(name, parsed);
      return;
    }
    errors.push({ type, name, problems: problems.map((p) => `${type} ${name}: ${p.replace(/^: /, '')}`) });
    if (previous.has(name)) out.set(name, previous.get(name) as T);
  });
}

/**
 * Parses decoded xDS resources on top of `previous`. Each given type replaces the previous set of
 * that type (state of the world); a rejected resource keeps its previous version if it had one.
 */
export function parseXdsResources(input: XdsResources, previous: ProxyConfig = emptyConfig(), version = previous.version): ParseResult {
  const errors: ResourceError[] = [];
  const routes = new Map<string, RouteTable>();
  const listeners = new Map<string, ListenerConfig>();
  const inlineRoutes: RouteTable[] = [];
  if (input.listeners) {
    const parsed = new Map<string, ParsedListener>();
    // A rejected listener keeps its previous version, and with it its previous inline route tables.
    const prev = new Map([...previous.listeners].map(([k, l]): [string, ParsedListener] => [k, {
      listener: l,
      inlineRoutes: l.chains.filter((c) => previous.inlineRouteNames.has(c.routeTable)).map((c) => previous.routes.get(c.routeTable)!).filter(Boolean),
    }]));
    parseType('listener', input.listeners, 'name', parseListener, prev, parsed, errors);
    for (const [k, v] of parsed) {
      listeners.set(k, v.listener);
      inlineRoutes.push(...v.inlineRoutes);
    }
  } else {
    for (const [k, v] of previous.listeners) listeners.set(k, v);
    for (const n of previous.inlineRouteNames) inlineRoutes.push(previous.routes.get(n)!);
  }
  if (input.routes) parseType('route', input.routes, 'name', parseRouteConfiguration, previous.routes, routes, errors);
  else for (const [k, v] of previous.routes) if (!previous.inlineRouteNames.has(k)) routes.set(k, v);
  // Inline tables win over an RDS table of the same name (the listener that embeds it is explicit).
  const inlineRouteNames = new Set<string>();
  for (const t of inlineRoutes) {
    routes.set(t.name, t);
    inlineRouteNames.add(t.name);
  }
  const clusters = new Map<string, ClusterConfig>();
  if (input.clusters) parseType('cluster', input.clusters, 'name', parseCluster, previous.clusters, clusters, errors);
  else for (const [k, v] of previous.clusters) clusters.set(k, v);
  const endpoints = new Map<string, EndpointSet>();
  if (input.endpoints) parseType('endpoint', input.endpoints, 'cluster_name', parseClusterLoadAssignment, previous.endpoints, endpoints, errors);
  else for (const [k, v] of previous.endpoints) endpoints.set(k, v);
  const config: ProxyConfig = deepFreeze({ version, listeners, routes, clusters, endpoints, inlineRouteNames });
  return { config, errors };
}

/** Parses decoded xDS resources, rejecting the whole set with every problem listed if any is invalid. */
export function parseXds(input: XdsResources, version = ''): ProxyConfig {
  const { config, errors } = parseXdsResources(input, emptyConfig(version), version);
  if (errors.length > 0) throw new InvalidConfigError('xDS resources', errors.flatMap((e) => e.problems));
  return config;
}

/** Parses a bootstrap's `staticResources` through the same parser; whole-or-nothing. */
export function parseStaticResources(resources: XdsResources | undefined): ProxyConfig {
  return parseXds(resources ?? {}, 'static');
}

/** The NACK text for a set of rejected resources (one line per problem, resource named). */
export function nackMessage(errors: readonly ResourceError[]): string {
  return errors.flatMap((e) => e.problems).join('\n');
}
