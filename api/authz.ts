/**
 * Authorization as a pure function, shared by the proxy's authz layer and the offline
 * `mayCall` helper so both always agree. Istio's order: AUDIT only records; a matching DENY wins;
 * no ALLOW rule means allow (or the mesh default); otherwise only a matching ALLOW lets through.
 * A rule that cannot be evaluated fails closed. Opaque TCP connections (`authorizeTcp`) follow
 * Istio's L4 rules: an ALLOW rule that needs HTTP fields never matches, a DENY/AUDIT rule drops them.
 */
import { parseSpiffeId } from './names';
import type { MeshSettings, PolicyModel, PolicyRuleModel } from './model';

/** One request as authorization sees it. */
export interface AuthzRequest {
  /** Verified SPIFFE ID of the caller (mTLS); undefined for a plaintext caller. */
  readonly principal?: string;
  /** The service being called; when given, only its policies apply. @default every policy given applies */
  readonly destination?: { readonly service: string; readonly namespace: string };
  /** Destination service port. */
  readonly port: number;
  /** Request path; a query string is ignored. */
  readonly path: string;
  /** HTTP method (gRPC: POST). */
  readonly method: string;
}

/**
 * One opaque TCP connection as authorization sees it: it has no path and no method, so only the
 * caller's identity and the destination service port can be judged (at connection time).
 */
export interface TcpAuthzRequest {
  /** Verified SPIFFE ID of the caller (mTLS client certificate); undefined for a plaintext caller. */
  readonly principal?: string;
  /** The service being called; when given, only its policies apply. @default every policy given applies */
  readonly destination?: { readonly service: string; readonly namespace: string };
  /** Destination service port. */
  readonly port: number;
}

/** Options of `authorize`. */
export interface AuthorizeOptions {
  /** What happens when no ALLOW rule applies to the service (MeshSettings.defaultInboundPolicy). @default 'allow' */
  readonly defaultInboundPolicy?: MeshSettings['defaultInboundPolicy'];
}

/**
 * Why a decision was taken. `plaintext_refused` is never returned by `authorize`; `mayCall` uses
 * it when a plaintext caller meets a STRICT port.
 */
export type DecisionReason =
  | 'allowed_by_policy'
  | 'default_allow'
  | 'denied_by_policy'
  | 'no_matching_allow'
  | 'default_deny'
  | 'rule_error'
  | 'plaintext_refused';

/** The verdict, naming what decided it (for the `weft-error` header and logs). */
export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
  /**
   * The rule id (`<namespace>/<policy>#<rule>`) that allowed or denied; for `no_matching_allow`
   * the ALLOW policies (`<namespace>/<policy>`, comma-separated) none of whose rules matched.
   */
  readonly policy?: string;
  /** Ids of AUDIT rules that matched (log them; they never change the verdict). */
  readonly audited: readonly string[];
  /**
   * For `rule_error`: what is wrong with the rule. For a TCP `no_matching_allow`: which ALLOW rules
   * were skipped because they need HTTP fields (`paths`, `methods`) a connection does not have.
   */
  readonly detail?: string;
}

type Matcher = (req: NormalizedRequest) => boolean;

interface NormalizedRequest {
  readonly principal?: string;
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly port: number;
  readonly path: string;
  readonly method: string;
  /** An opaque TCP connection: path and method do not exist (see `authorizeTcp`). */
  readonly tcp?: boolean;
}

interface CompiledRule {
  readonly id: string;
  readonly policy: string;
  readonly action: PolicyRuleModel['action'];
  readonly matches: Matcher;
  /** Some operation of the rule needs HTTP fields (`paths` / `methods`). */
  readonly httpOnly: boolean;
}

/** A rule that could not be compiled; carries why. */
class RuleError extends Error {}

const PEER_KEYS = new Set(['principals', 'namespaces', 'serviceAccounts']);
const OP_KEYS = new Set(['paths', 'methods', 'ports']);
const RULE_KEYS = new Set(['id', 'action', 'from', 'to']);
const ACTIONS = new Set(['ALLOW', 'DENY', 'AUDIT']);

function checkKeys(obj: unknown, allowed: Set<string>, what: string): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new RuleError(`${what} is not an object`);
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new RuleError(`${what} has unknown field "${k}"`);
  }
  return obj as Record<string, unknown>;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new RuleError(`${what} is not a list`);
  return v;
}

/** Compiles an Istio-style string pattern: exact, `*`, `prefix*` or `*suffix`. */
function pattern(p: unknown, what: string, valid: RegExp): (s: string) => boolean {
  if (typeof p !== 'string' || p.length === 0) throw new RuleError(`${what}: empty or not a string`);
  if (p === '*') return () => true;
  const star = p.indexOf('*');
  if (star !== -1 && (p.lastIndexOf('*') !== star || (star !== 0 && star !== p.length - 1))) {
    throw new RuleError(`${what}: "${p}" may only use one "*", at the start or the end`);
  }
  const body = p.replace('*', '');
  if (!valid.test(body)) throw new RuleError(`${what}: "${p}" is malformed`);
  if (star === 0) return (s) => s.endsWith(body);
  if (star > 0) return (s) => s.startsWith(body);
  return (s) => s === body;
}

const PRINCIPAL_BODY = /^[A-Za-z0-9._~%!$&'()+,;=:@/-]+$/;
const NAME_BODY = /^[a-z0-9.-]+$/;
const PATH_BODY = /^[^\s?#]*$/;
const METHOD = /^[A-Z]+$/;

function compilePrincipal(p: unknown, what: string): (principal: string) => boolean {
  const m = pattern(p, what, PRINCIPAL_BODY);
  // Istio writes principals without the scheme (`td/ns/a/sa/b`); accept both spellings.
  const full = typeof p === 'string' && (p.startsWith('spiffe://') || p === '*');
  return (principal) => m(full ? principal : principal.replace(/^spiffe:\/\//, ''));
}

function compilePeer(peer: unknown, what: string): Matcher {
  const o = checkKeys(peer, PEER_KEYS, what);
  const principals = list(o.principals, `${what}.principals`).map((p, i) => compilePrincipal(p, `${what}.principals[${i}]`));
  const namespaces = list(o.namespaces, `${what}.namespaces`).map((p, i) => pattern(p, `${what}.namespaces[${i}]`, NAME_BODY));
  const accounts = list(o.serviceAccounts, `${what}.serviceAccounts`).map((p, i) => {
    if (typeof p !== 'string' || !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(p)) throw new RuleError(`${what}.serviceAccounts[${i}]: "${String(p)}" is not "<namespace>/<serviceAccount>"`);
    return p;
  });
  return (r) => {
    const constrained = principals.length + namespaces.length + accounts.length > 0;
    if (constrained && r.principal === undefined) return false; // plaintext callers have no identity to match
    if (principals.length && !principals.some((m) => m(r.principal!))) return false;
    if (namespaces.length && (r.namespace === undefined || !namespaces.some((m) => m(r.namespace!)))) return false;
    if (accounts.length && !accounts.includes(`${r.namespace}/${r.serviceAccount}`)) return false;
    return true;
  };
}

/** A compiled operation; `http` says it constrains HTTP-only fields (paths, methods). */
interface CompiledOp {
  readonly matches: Matcher;
  readonly http: boolean;
}

function compileOp(op: unknown, what: string): CompiledOp {
  const o = checkKeys(op, OP_KEYS, what);
  const paths = list(o.paths, `${what}.paths`).map((p, i) => {
    if (typeof p === 'string' && p !== '*' && !p.startsWith('/') && !p.startsWith('*')) throw new RuleError(`${what}.paths[${i}]: "${p}" must start with "/" or "*"`);
    return pattern(p, `${what}.paths[${i}]`, PATH_BODY);
  });
  const methods = list(o.methods, `${what}.methods`).map((m, i) => {
    if (typeof m !== 'string' || (m !== '*' && !METHOD.test(m))) throw new RuleError(`${what}.methods[${i}]: "${String(m)}" is not an upper-case method`);
    return m;
  });
  const ports = list(o.ports, `${what}.ports`).map((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw new RuleError(`${what}.ports[${i}]: ${String(p)} is not a port`);
    return p;
  });
  return {
    http: paths.length + methods.length > 0,
    // on TCP the HTTP fields are dropped here; compileRule keeps an ALLOW that needs them from matching at all
    matches: (r) =>
      (r.tcp || paths.length === 0 || paths.some((m) => m(r.path))) &&
      (r.tcp || methods.length === 0 || methods.includes('*') || methods.includes(r.method)) &&
      (ports.length === 0 || ports.includes(r.port)),
  };
}

function compileRule(rule: unknown, policy: string, index: number): CompiledRule {
  const rawId = (rule as { id?: unknown } | null)?.id;
  const id = typeof rawId === 'string' && rawId ? rawId : `${policy}#${index}`;
  try {
    const o = checkKeys(rule, RULE_KEYS, `rule ${id}`);
    if (typeof o.action !== 'string' || !ACTIONS.has(o.action)) throw new RuleError(`rule ${id}: unknown action "${String(o.action)}"`);
    const from = list(o.from, `rule ${id}.from`).map((p, i) => compilePeer(p, `rule ${id}.from[${i}]`));
    const to = list(o.to, `rule ${id}.to`).map((p, i) => compileOp(p, `rule ${id}.to[${i}]`));
    const action = o.action as PolicyRuleModel['action'];
    const httpOnly = to.some((t) => t.http);
    // Istio on TCP: an ALLOW rule with HTTP-only fields is ignored (it cannot allow what it cannot
    // check); a DENY or AUDIT rule drops those fields and matches on the rest (wider, fails closed).
    const skipOnTcp = httpOnly && action === 'ALLOW';
    return {
      id,
      policy,
      action,
      httpOnly,
      matches: (r) => !(r.tcp && skipOnTcp) && (from.length === 0 || from.some((m) => m(r))) && (to.length === 0 || to.some((t) => t.matches(r))),
    };
  } catch (e) {
    throw Object.assign(e as Error, { id });
  }
}

/** Policies compiled once; `authorize` on it is cheap per request. */
export interface Authorizer {
  authorize(request: AuthzRequest): Decision;
  /** The same policies for an opaque TCP connection (see `authorizeTcp`). */
  authorizeTcp(request: TcpAuthzRequest): Decision;
}

/** Compiles `policies` (all of them, or only the destination's at request time) for repeated use. */
export function compilePolicies(policies: readonly PolicyModel[], options: AuthorizeOptions = {}): Authorizer {
  const compiled: { service: string; namespace: string; rules: CompiledRule[]; error?: { id: string; detail: string } }[] = policies.map((p) => {
    const name = `${p.namespace}/${p.service}`;
    try {
      return { service: p.service, namespace: p.namespace, rules: list(p.rules, `policy ${name}.rules`).map((r, i) => compileRule(r, policyNameOf(r, name), i)) };
    } catch (e) {
      return { service: p.service, namespace: p.namespace, rules: [], error: { id: (e as { id?: string }).id ?? name, detail: (e as Error).message } };
    }
  });
  const deflt = options.defaultInboundPolicy ?? 'allow';
  const decide = (request: AuthzRequest, tcp: boolean): Decision => {
    const applicable = request.destination
      ? compiled.filter((p) => p.service === request.destination!.service && p.namespace === request.destination!.namespace)
      : compiled;
    const broken = applicable.find((p) => p.error);
    if (broken) return { allowed: false, reason: 'rule_error', policy: broken.error!.id, detail: broken.error!.detail, audited: [] };
    const parsed = request.principal ? parseSpiffeId(request.principal) : undefined;
    const q = request.path.indexOf('?');
    const r: NormalizedRequest = {
      principal: request.principal,
      namespace: parsed?.namespace,
      serviceAccount: parsed?.serviceAccount,
      port: request.port,
      path: q === -1 ? request.path : request.path.slice(0, q),
      method: request.method.toUpperCase(),
      tcp,
    };
    const rules = applicable.flatMap((p) => p.rules);
    const audited = rules.filter((x) => x.action === 'AUDIT' && x.matches(r)).map((x) => x.id);
    const deny = rules.find((x) => x.action === 'DENY' && x.matches(r));
    if (deny) return { allowed: false, reason: 'denied_by_policy', policy: deny.id, audited };
    const allows = rules.filter((x) => x.action === 'ALLOW');
    if (allows.length === 0) {
      return deflt === 'deny' ? { allowed: false, reason: 'default_deny', audited } : { allowed: true, reason: 'default_allow', audited };
    }
    const allow = allows.find((x) => x.matches(r));
    if (allow) return { allowed: true, reason: 'allowed_by_policy', policy: allow.id, audited };
    const skipped = tcp ? allows.filter((x) => x.httpOnly).map((x) => x.id) : [];
    return {
      allowed: false, reason: 'no_matching_allow', policy: [...new Set(allows.map((x) => x.policy))].join(','), audited,
      ...(skipped.length ? { detail: `ALLOW rules that need HTTP fields (paths, methods) never match a TCP connection: ${skipped.join(', ')}` } : {}),
    };
  };
  return {
    authorize: (request) => decide(request, false),
    authorizeTcp: (request) => decide({ ...request, path: '/', method: '' }, true),
  };
}

/** The policy part of a rule id (`<ns>/<policy>` of `<ns>/<policy>#<rule>`), or `fallback`. */
function policyNameOf(rule: unknown, fallback: string): string {
  const id = (rule as { id?: unknown })?.id;
  return typeof id === 'string' && id.includes('#') ? id.slice(0, id.indexOf('#')) : fallback;
}

const cache = new WeakMap<readonly PolicyModel[], Map<string, Authorizer>>();

/**
 * Decides whether `request` may pass `policies` (see module comment for the order). Pure; the
 * compiled form is cached per policies array, so the proxy may call it per request.
 */
export function authorize(policies: readonly PolicyModel[], request: AuthzRequest, options: AuthorizeOptions = {}): Decision {
  return compiledFor(policies, options).authorize(request);
}

/** The cached compiled form of `policies` under `options`. */
function compiledFor(policies: readonly PolicyModel[], options: AuthorizeOptions): Authorizer {
  let byOpt = cache.get(policies);
  if (!byOpt) cache.set(policies, (byOpt = new Map()));
  const key = options.defaultInboundPolicy ?? 'allow';
  let a = byOpt.get(key);
  if (!a) byOpt.set(key, (a = compilePolicies(policies, options)));
  return a;
}

/**
 * Decides whether an opaque TCP connection may pass `policies`, in Istio's order, at connection
 * time. Only L4 facts exist (caller identity, service port), so, as Istio does for TCP: an ALLOW
 * rule whose operations need `paths` or `methods` never matches (it still counts as an ALLOW, so
 * with nothing else matching the connection is denied); a DENY or AUDIT rule ignores those fields
 * and matches on its sources and ports (a DENY of `GET` on a TCP port denies every connection).
 * A rule that cannot be evaluated denies (`rule_error`), as for HTTP.
 */
export function authorizeTcp(policies: readonly PolicyModel[], request: TcpAuthzRequest, options: AuthorizeOptions = {}): Decision {
  return compiledFor(policies, options).authorizeTcp(request);
}

/** The `weft-error` header value for a denial: `<reason>; policy=<id>`. */
export function denialHeader(d: Decision): string {
  return d.policy ? `${d.reason}; policy=${d.policy}` : d.reason;
}
