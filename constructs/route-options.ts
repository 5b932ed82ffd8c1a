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
  /** Inject delays and/or aborts into a percentage of requests (chaos testing). @default - no faults */
  readonly fault?: FaultOptions;
}

/** Fault injection: a fixed delay and/or an abort with an HTTP or a gRPC status, each on a percentage of requests. */
export interface FaultOptions {
  /** @default - no delay */
  readonly delay?: { readonly fixed: string; readonly percent: number };
  /** Exactly one of httpStatus / grpcStatus. @default - no abort */
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent: number };
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
    checkPercent(scope, `${prop}.mirror.percent`, r.mirror.percent);
  }
  if (r.directResponse) checkInt(scope, `${prop}.directResponse.status`, r.directResponse.status, 100, 599);
  if ([backends, r.redirect, r.directResponse].filter(Boolean).length > 1) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'a route ends in exactly one of backends, redirect, directResponse', scope, { prop, fix: 'split it into two routes' });
  }
  if (r.fault?.delay) {
    checkDuration(scope, `${prop}.fault.delay.fixed`, r.fault.delay.fixed);
    checkPercent(scope, `${prop}.fault.delay.percent`, r.fault.delay.percent);
  }
  if (r.fault?.abort) {
    const a = r.fault.abort;
    if ((a.httpStatus === undefined) === (a.grpcStatus === undefined)) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'fault.abort needs exactly one of httpStatus, grpcStatus', scope, { prop: `${prop}.fault.abort`, value: a });
    checkInt(scope, `${prop}.fault.abort.httpStatus`, a.httpStatus, 200, 599);
    checkInt(scope, `${prop}.fault.abort.grpcStatus`, a.grpcStatus, 0, 16);
    checkPercent(scope, `${prop}.fault.abort.percent`, a.percent);
  }
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
    ...(r.fault ? { fault: { ...(r.fault.delay ? { delay: { ...r.fault.delay } } : {}), ...(r.fault.abort ? { abort: { ...r.fault.abort } } : {}) } } : {}),
  };
}

function checkPercent(scope: IConstruct, prop: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} must be a number in 0..100`, scope, { prop, value: v });
}

function checkRegex(scope: IConstruct, prop: string, re: string | undefined): void {
  if (re === undefined) return;
  try {
    new RegExp(re);
  } catch (e) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `regular expression does not compile (${(e as Error).message})`, scope, { prop, value: re });
  }
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
  checkRegex(scope, `${prop}.path`, path?.regex);
  if (m.method !== undefined && !/^[A-Z]+$/.test(m.method)) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'method must be an upper-case HTTP method', scope, { prop: `${prop}.method`, value: m.method, fix: `write ${JSON.stringify(String(m.method).toUpperCase())}` });
  }
  const kv = (o: Record<string, string | HeaderMatch> | undefined, lower: boolean) => Object.entries(o ?? {}).map(([name, v]) => ({
    name: lower ? name.toLowerCase() : name,
    ...(typeof v === 'string' ? { exact: v } : v.spec),
  }));
  const headers = kv(m.headers, true);
  const query = kv(m.query, false);
  headers.forEach((h) => checkRegex(scope, `${prop}.headers.${h.name}`, h.regex));
  query.forEach((q) => checkRegex(scope, `${prop}.query.${q.name}`, q.regex));
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
