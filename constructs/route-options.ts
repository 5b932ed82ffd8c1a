/** Route props of a CanaryRoute (matches, backends, per-route policy) and their wire form. */
import { IConstruct } from 'constructs';
import { HeaderModifier, RouteMatch, RouteRule } from '../api/resources';
import { checkDuration, checkInt, checkRetries, RetryOptions } from './checks';
import { WeftValidationError } from './errors';
import { HeaderMatch, PathMatch } from './values';

/** Conditions on a request; every given condition must hold. */
export interface RouteMatchOptions {
  /** @default - any path */
  readonly path?: PathMatch;
  /** Header name → exact value or a HeaderMatch. @default - any headers */
  readonly headers?: Record<string, string | HeaderMatch>;
  /** Query parameter → exact value or a HeaderMatch. @default - any query */
  readonly query?: Record<string, string | HeaderMatch>;
  /** Upper-case HTTP method. @default - any method */
  readonly method?: string;
}

/** Header changes on the request or the response. */
export interface HeaderModifierOptions {
  /** @default - none */
  readonly set?: Record<string, string>;
  /** @default - none */
  readonly add?: Record<string, string>;
  /** @default - none */
  readonly remove?: readonly string[];
}

/** One route: matches → weighted versions, with its own policy. */
export interface RouteOptions {
  /** @default - `route-<n>` */
  readonly name?: string;
  /** Any one match selects the route. @default - every request */
  readonly match?: readonly RouteMatchOptions[];
  /** Version → weight (integers summing to 100). @default - none; then `redirect` or `directResponse` is required */
  readonly backends?: Record<string, number>;
  /** @default - the CanaryRoute's `timeout`, else the service's */
  readonly timeout?: string;
  /** @default - the CanaryRoute's `retries`, else the service's */
  readonly retries?: RetryOptions;
  /** @default - unchanged */
  readonly requestHeaders?: HeaderModifierOptions;
  /** @default - unchanged */
  readonly responseHeaders?: HeaderModifierOptions;
  /** Copy a percentage of requests to a version, responses discarded. @default - no mirror */
  readonly mirror?: { readonly version: string; readonly percent: number };
  /** Answer with a redirect instead of a backend. @default - no redirect */
  readonly redirect?: { readonly scheme?: 'http' | 'https'; readonly host?: string; readonly path?: string; readonly port?: number; readonly status?: number };
  /** Answer directly. @default - no direct response */
  readonly directResponse?: { readonly status: number; readonly body?: string };
}

/** Renders (and checks) one route. `versions` maps version name → replicas. */
export function renderRoute(scope: IConstruct, prop: string, r: RouteOptions, versions: ReadonlyMap<string, number>): RouteRule {
  const backends = r.backends ? checkBackends(scope, `${prop}.backends`, r.backends, versions) : undefined;
  if (!backends && !r.redirect && !r.directResponse) {
    throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'a route needs backends, a redirect or a direct response', scope, { prop: `${prop}.backends` });
  }
  checkDuration(scope, `${prop}.timeout`, r.timeout);
  const retries = checkRetries(scope, `${prop}.retries`, r.retries);
  if (r.mirror) {
    checkVersion(scope, `${prop}.mirror.version`, r.mirror.version, versions);
    checkInt(scope, `${prop}.mirror.percent`, r.mirror.percent, 0, 100);
  }
  if (r.directResponse) checkInt(scope, `${prop}.directResponse.status`, r.directResponse.status, 100, 599);
  if (r.redirect?.status !== undefined) checkInt(scope, `${prop}.redirect.status`, r.redirect.status, 301, 308);
  return {
    ...(r.name ? { name: r.name } : {}),
    ...(r.match?.length ? { match: r.match.map((m, i) => renderMatch(scope, `${prop}.match[${i}]`, m)) } : {}),
    ...(backends ? { backends } : {}),
    ...(r.timeout ? { timeout: r.timeout } : {}),
    ...(retries ? { retries } : {}),
    ...(r.requestHeaders ? { requestHeaders: renderModifier(r.requestHeaders) } : {}),
    ...(r.responseHeaders ? { responseHeaders: renderModifier(r.responseHeaders) } : {}),
    ...(r.mirror ? { mirror: { ...r.mirror } } : {}),
    ...(r.redirect ? { redirect: { ...r.redirect } } : {}),
    ...(r.directResponse ? { directResponse: { ...r.directResponse } } : {}),
  };
}

/** WEFT_ERR_UNKNOWN_VERSION unless `version` is one of `versions`. */
export function checkVersion(scope: IConstruct, prop: string, version: string, versions: ReadonlyMap<string, number>): void {
  if (!versions.has(version)) {
    throw new WeftValidationError('WEFT_ERR_UNKNOWN_VERSION', `the service has no version ${JSON.stringify(version)}`, scope, {
      prop, value: version, fix: `use one of ${[...versions.keys()].join(', ')}`,
    });
  }
}

/** Checks a version → weight map: known versions, non-negative integers summing to 100, no weight to 0 replicas. */
export function checkBackends(scope: IConstruct, prop: string, weights: Record<string, number>, versions: ReadonlyMap<string, number>): { version: string; weight: number }[] {
  const entries = Object.entries(weights);
  if (!entries.length) throw new WeftValidationError('WEFT_ERR_INVALID_WEIGHT', 'a split needs at least one version', scope, { prop, value: weights });
  for (const [v, w] of entries) {
    if (!Number.isInteger(w) || w < 0 || w > 100) {
      throw new WeftValidationError('WEFT_ERR_INVALID_WEIGHT', `weight of ${v} must be an integer in 0..100`, scope, { prop: `${prop}.${v}`, value: w });
    }
    checkVersion(scope, `${prop}.${v}`, v, versions);
  }
  const sum = entries.reduce((a, [, w]) => a + w, 0);
  if (sum !== 100) throw new WeftValidationError('WEFT_ERR_INVALID_WEIGHT', `weights sum to ${sum}, not 100`, scope, { prop, value: weights });
  for (const [v, w] of entries) {
    if (w > 0 && versions.get(v) === 0) {
      throw new WeftValidationError('WEFT_ERR_ZERO_REPLICAS', `weight ${w} goes to version ${v}, which has 0 replicas`, scope, { prop: `${prop}.${v}`, value: w });
    }
  }
  return entries.map(([version, weight]) => ({ version, weight }));
}

function renderMatch(scope: IConstruct, prop: string, m: RouteMatchOptions): RouteMatch {
  const path = m.path?.spec;
  const literal = path?.exact ?? path?.prefix;
  if (literal !== undefined && !literal.startsWith('/')) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'a path match starts with "/"', scope, { prop: `${prop}.path`, value: path });
  }
  if (path?.regex !== undefined) {
    try { new RegExp(path.regex); } catch { throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'path regex does not compile', scope, { prop: `${prop}.path`, value: path.regex }); }
  }
  if (m.method !== undefined && !/^[A-Z]+$/.test(m.method)) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'method must be an upper-case HTTP method', scope, { prop: `${prop}.method`, value: m.method, fix: `write ${JSON.stringify(String(m.method).toUpperCase())}` });
  }
  const kv = (o: Record<string, string | HeaderMatch> | undefined, lower: boolean) => Object.entries(o ?? {}).map(([name, v]) => ({
    name: lower ? name.toLowerCase() : name,
    ...(typeof v === 'string' ? { exact: v } : v.spec),
  }));
  const headers = kv(m.headers, true);
  const query = kv(m.query, false);
  return {
    ...(path ? { path: { ...path } } : {}),
    ...(headers.length ? { headers } : {}),
    ...(query.length ? { query } : {}),
    ...(m.method ? { method: m.method } : {}),
  };
}

function renderModifier(h: HeaderModifierOptions): HeaderModifier {
  return {
    ...(h.set ? { set: { ...h.set } } : {}),
    ...(h.add ? { add: { ...h.add } } : {}),
    ...(h.remove ? { remove: [...h.remove] } : {}),
  };
}
