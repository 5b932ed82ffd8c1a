/**
 * One CanaryRoute rule → one RouteModel: references checked against the target service, durations
 * turned into milliseconds, service-level timeout/retries inherited. Used by buildModel().
 */
import { parseDuration } from './duration';
import { InvalidValueError } from './errors';
import type { HeaderModifierModel, MatchModel, RetryModel, RouteModel, ServiceModel } from './model';
import type { HeaderModifier, Retries, RouteRule } from './resources';

/** Why a rule (and so its whole CanaryRoute) was rejected. */
export interface RouteProblem {
  readonly reason: string;
  readonly code: string;
  readonly problems: readonly string[];
}

/** Retries with defaults: Envoy's backoff (25 ms base, 10× cap) and no extra status codes. */
export function retriesOf(r: Retries, path: string): RetryModel {
  const base = r.backoff ? parseDuration(r.backoff.base, `${path}.backoff.base`) : 25;
  const max = r.backoff ? parseDuration(r.backoff.max, `${path}.backoff.max`) : base * 10;
  if (base <= 0 || max < base) throw new InvalidValueError(`${path}.backoff`, `base must be > 0 and max (${max}ms) at least base (${base}ms)`, 'WEFT_ERR_MODEL_CONTRADICTION');
  return {
    attempts: r.attempts,
    on: [...r.on],
    perTryTimeoutMs: r.perTryTimeout ? parseDuration(r.perTryTimeout, `${path}.perTryTimeout`) : undefined,
    retriableStatusCodes: [...(r.retriableStatusCodes ?? [])],
    backoffBaseMs: base,
    backoffMaxMs: max,
    ...(r.idempotent ? { idempotent: true } : {}),
  };
}

/**
 * The default split: every version weighted by its replicas (largest-remainder, sums to 100); an
 * equal split when no version has replicas, so the route stays routable.
 */
export function defaultBackends(versions: readonly { name: string; replicas: number }[]): { version: string; weight: number }[] {
  if (versions.length === 1) return [{ version: versions[0].name, weight: 100 }];
  const total = versions.reduce((n, v) => n + v.replicas, 0);
  const share = versions.map((v) => (total > 0 ? (v.replicas * 100) / total : 100 / versions.length));
  const weights = share.map(Math.floor);
  let left = 100 - weights.reduce((a, b) => a + b, 0);
  const order = share.map((s, i) => [s - Math.floor(s), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) { if (left-- <= 0) break; weights[i]++; }
  return versions.map((v, i) => ({ version: v.name, weight: weights[i] }));
}

function headerMods(h: HeaderModifier | undefined): HeaderModifierModel | undefined {
  return h ? { set: { ...(h.set ?? {}) }, add: { ...(h.add ?? {}) }, remove: [...(h.remove ?? [])] } : undefined;
}

function regexProblem(re: string | undefined, path: string): string | undefined {
  if (re === undefined) return undefined;
  try { new RegExp(re); return undefined; } catch (e) { return `${path}: ${JSON.stringify(re)} is not a valid regular expression (${(e as Error).message})`; }
}

function matchProblems(m: MatchModel, path: string): string[] {
  const out: string[] = [];
  const one = (o: object, p: string, keys: string[]) => {
    const set = keys.filter((k) => (o as Record<string, unknown>)[k] !== undefined);
    if (set.length > 1) out.push(`${p}: set only one of ${keys.join(', ')} (got ${set.join(', ')})`);
  };
  if (m.path) { one(m.path, `${path}.path`, ['exact', 'prefix', 'regex']); const r = regexProblem(m.path.regex, `${path}.path.regex`); if (r) out.push(r); }
  m.headers.forEach((h, i) => { one(h, `${path}.headers[${i}]`, ['exact', 'regex', 'present']); const r = regexProblem(h.regex, `${path}.headers[${i}].regex`); if (r) out.push(r); });
  m.query.forEach((h, i) => { one(h, `${path}.query[${i}]`, ['exact', 'regex', 'present']); const r = regexProblem(h.regex, `${path}.query[${i}].regex`); if (r) out.push(r); });
  return out;
}

/** Builds rule `index` of CanaryRoute `crName` for `svc`, or says why it cannot be used. */
export function buildRoute(crName: string, port: string | undefined, rule: RouteRule, index: number, svc: Omit<ServiceModel, 'routes' | 'mtlsModes' | 'calls'>): RouteModel | RouteProblem {
  const path = `spec.routes[${index}]`;
  const invalid = (code: string, problems: string[]): RouteProblem => ({ reason: 'InvalidSpec', code, problems });
  if (port !== undefined) {
    const p = svc.ports.find((x) => x.name === port);
    if (!p) return { reason: 'UnknownPort', code: 'WEFT_ERR_MODEL_UNKNOWN_PORT', problems: [`spec.port: service ${svc.namespace}/${svc.name} has no port named ${JSON.stringify(port)} (ports: ${svc.ports.map((x) => x.name).join(', ')})`] };
    if (p.protocol === 'tcp') return invalid('WEFT_ERR_MODEL_CONTRADICTION', [`spec.port: port ${port} speaks tcp; routes need an http, http2 or grpc port`]);
  }
  const versions = new Set(svc.versions.map((v) => v.name));
  const unknown = [...(rule.backends ?? []).map((b) => b.version), ...(rule.mirror ? [rule.mirror.version] : [])].filter((v) => !versions.has(v));
  if (unknown.length) {
    return { reason: 'UnknownVersion', code: 'WEFT_ERR_MODEL_UNKNOWN_VERSION', problems: unknown.map((v) => `${path}: version ${JSON.stringify(v)} is not a version of ${svc.namespace}/${svc.name} (versions: ${[...versions].join(', ')})`) };
  }
  const terminal = [rule.backends?.length ? 'backends' : '', rule.redirect ? 'redirect' : '', rule.directResponse ? 'directResponse' : ''].filter(Boolean);
  if (terminal.length > 1) return invalid('WEFT_ERR_MODEL_CONTRADICTION', [`${path}: set only one of backends, redirect, directResponse (got ${terminal.join(', ')})`]);
  if (rule.backends?.length) {
    const sum = rule.backends.reduce((n, b) => n + b.weight, 0);
    if (sum !== 100) return { reason: 'InvalidWeights', code: 'WEFT_ERR_MODEL_INVALID_WEIGHTS', problems: [`${path}.backends: weights sum to ${sum}; they must sum to 100`] };
    const dups = rule.backends.map((b) => b.version).filter((v, i, a) => a.indexOf(v) !== i);
    if (dups.length) return invalid('WEFT_ERR_MODEL_DUPLICATE', [`${path}.backends: version ${dups[0]} is listed twice`]);
  }
  const abort = rule.fault?.abort;
  if (abort && (abort.httpStatus === undefined) === (abort.grpcStatus === undefined)) {
    return invalid('WEFT_ERR_MODEL_CONTRADICTION', [`${path}.fault.abort: set exactly one of httpStatus, grpcStatus`]);
  }
  const matches: MatchModel[] = (rule.match ?? []).map((m) => ({
    path: m.path ? { ...m.path } : undefined,
    headers: (m.headers ?? []).map((h) => ({ ...h, invert: h.invert ?? false })),
    query: (m.query ?? []).map((h) => ({ ...h, invert: h.invert ?? false })),
    method: m.method,
  }));
  const mp = matches.flatMap((m, i) => matchProblems(m, `${path}.match[${i}]`));
  if (mp.length) return invalid('WEFT_ERR_MODEL_INVALID_MATCH', mp);
  const tp = svc.trafficPolicy;
  const d = (v: string | undefined, p: string) => (v === undefined ? undefined : parseDuration(v, p));
  return {
    name: `${crName}.${rule.name ?? index}`,
    source: crName,
    port,
    matches,
    backends: rule.redirect || rule.directResponse ? [] : (rule.backends?.length ? rule.backends.map((b) => ({ ...b })) : defaultBackends(svc.versions)),
    timeoutMs: d(rule.timeout, `${path}.timeout`) ?? tp.timeoutMs,
    retries: rule.retries ? retriesOf(rule.retries, `${path}.retries`) : tp.retries,
    requestHeaders: headerMods(rule.requestHeaders),
    responseHeaders: headerMods(rule.responseHeaders),
    fault: rule.fault ? {
      delay: rule.fault.delay ? { fixedMs: parseDuration(rule.fault.delay.fixed, `${path}.fault.delay.fixed`), percent: rule.fault.delay.percent } : undefined,
      abort: abort ? { ...abort } : undefined,
    } : undefined,
    mirror: rule.mirror ? { ...rule.mirror } : undefined,
    redirect: rule.redirect ? { ...rule.redirect, status: rule.redirect.status ?? 302 } : undefined,
    directResponse: rule.directResponse ? { ...rule.directResponse } : undefined,
  };
}
