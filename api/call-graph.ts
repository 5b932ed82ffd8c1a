/**
 * Call-graph analysis of a mesh model (issue #14): what no single resource shows but the declared
 * `calls()` graph does — retries multiplied along a path, caller deadlines shorter than a callee's
 * retries, retried POST/PATCH, retry cycles, declared calls the authorization forbids, canary
 * versions that call differently without a policy, services nothing reaches. Pure: model in, problems out.
 */
import { mayCall } from './may-call';
import type { MeshModel, RouteModel, ServiceModel } from './model';

/** Most requests one request may become along a path when the MeshConfig sets no `maxRetryAmplification`. */
export const DEFAULT_MAX_RETRY_AMPLIFICATION = 10;

/** Retry conditions that fire only when the request never reached the app, so re-sending is always safe. */
export const SAFE_RETRY_ON: readonly string[] = ['connect-failure', 'refused-stream'];

/** HTTP methods that are not idempotent (RFC 9110 §9.2.2) and that weft therefore never retries silently. */
export const NON_IDEMPOTENT_METHODS: readonly string[] = ['POST', 'PATCH'];

/** One finding. Errors fail synth and `weft check`; warnings are printed and recorded. */
export interface GraphProblem {
  readonly code: string;
  readonly severity: 'error' | 'warning';
  /** The resource at fault: a CanaryRoute (route source), else the MeshService. */
  readonly kind: 'MeshService' | 'CanaryRoute';
  readonly namespace: string;
  readonly name: string;
  /** JSON path inside that resource. */
  readonly field: string;
  readonly message: string;
  readonly fix: string;
  /** The path through the graph, `namespace/name` per hop (a version is `ns/name@version`). */
  readonly path: readonly string[];
}

const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;
const ms = (n: number) => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

/** Routes that can take traffic: in order up to and including the first catch-all, forwarding ones only. */
export function liveRoutes(s: ServiceModel): RouteModel[] {
  const out: RouteModel[] = [];
  for (const r of s.routes) {
    if (r.backends.length) out.push(r);
    if (!r.matches.length) break;
  }
  return out;
}

const tries = (r: RouteModel) => (r.retries ? r.retries.attempts + 1 : 1);
/** Longest a route's retries may keep a call going; undefined without retries or without any bound. */
function retryBudget(r: RouteModel): number | undefined {
  if (!r.retries) return undefined;
  const all = r.retries.perTryTimeoutMs !== undefined ? tries(r) * r.retries.perTryTimeoutMs : undefined;
  const bounds = [all, r.timeoutMs].filter((x): x is number => x !== undefined);
  return bounds.length ? Math.min(...bounds) : undefined;
}
/** How long one request to the service may run (per-try deadline, else route timeout); undefined = unbounded. */
const deadline = (r: RouteModel) => r.retries?.perTryTimeoutMs ?? r.timeoutMs;

/** Where a route's problem is reported. */
function owner(s: ServiceModel, r: RouteModel | undefined, field: string): Pick<GraphProblem, 'kind' | 'namespace' | 'name' | 'field'> {
  if (r?.source) {
    // Route names are `<CanaryRoute>.<rule name or index>` (build-route.ts).
    const rule = r.name.slice(r.source.length + 1);
    return { kind: 'CanaryRoute', namespace: s.namespace, name: r.source, field: /^\d+$/.test(rule) ? `spec.routes[${rule}].${field}` : 'spec.routes' };
  }
  return { kind: 'MeshService', namespace: s.namespace, name: s.name, field: `spec.trafficPolicy.${field}` };
}

/** Every call-graph problem of `model`, errors and warnings, in a stable order. */
export function callGraphProblems(model: MeshModel): GraphProblem[] {
  const out: GraphProblem[] = [];
  const byKey = new Map(model.services.map((s) => [keyOf(s), s]));
  const callees = (s: ServiceModel) => s.calls.map(keyOf).filter((k) => k !== keyOf(s) && byKey.has(k)).map((k) => byKey.get(k)!);
  const callers = new Map<string, ServiceModel[]>();
  for (const s of model.services) for (const c of callees(s)) callers.set(keyOf(c), [...(callers.get(keyOf(c)) ?? []), s]);

  amplification(model, callers, out);
  cycles(model, callees, out);
  for (const u of model.services) for (const v of callees(u)) timeoutBudget(u, v, out);
  for (const s of model.services) nonIdempotent(model, s, callers.get(keyOf(s)) ?? [], out);
  for (const u of model.services) deniedCalls(model, u, out);
  for (const s of model.services) canaryCalls(model, s, byKey, out);
  for (const s of model.services) {
    if (!s.ingress && !(callers.get(keyOf(s)) ?? []).length) {
      out.push({
        code: 'WEFT_WARN_UNREACHABLE', severity: 'warning', kind: 'MeshService', namespace: s.namespace, name: s.name, field: 'spec',
        message: `${keyOf(s)} has no caller in the call graph and is not an ingress, so nothing in the mesh reaches it`,
        fix: `declare its callers with calls(), mark it \`ingress: true\` if traffic enters the mesh there, or remove it`,
        path: [keyOf(s)],
      });
    }
  }
  return out;
}

/** Retry amplification: the product of tries along every path, reported where it first crosses the limit. */
function amplification(model: MeshModel, callers: Map<string, ServiceModel[]>, out: GraphProblem[]): void {
  const limit = model.mesh.maxRetryAmplification ?? DEFAULT_MAX_RETRY_AMPLIFICATION;
  const worstRoute = (s: ServiceModel) => liveRoutes(s).reduce<RouteModel | undefined>((a, r) => (!a || tries(r) > tries(a) ? r : a), undefined);
  const best = new Map<string, { amp: number; prev?: ServiceModel }>();
  const onStack = new Set<string>();
  const visit = (v: ServiceModel): { amp: number; prev?: ServiceModel } => {
    const k = keyOf(v);
    const known = best.get(k);
    if (known) return known;
    onStack.add(k);
    let top: { amp: number; prev?: ServiceModel } = { amp: 1 };
    for (const u of callers.get(k) ?? []) {
      if (onStack.has(keyOf(u))) continue; // a back edge: cycles are judged by cycles()
      const amp = visit(u).amp * tries(worstRoute(v) ?? ({} as RouteModel));
      if (amp > top.amp || (amp === top.amp && !top.prev)) top = { amp, prev: u };
    }
    onStack.delete(k);
    best.set(k, top);
    return top;
  };
  for (const s of model.services) visit(s);
  for (const v of model.services) {
    const b = best.get(keyOf(v))!;
    if (b.amp <= limit || !b.prev || best.get(keyOf(b.prev))!.amp > limit) continue;
    const chain: ServiceModel[] = [v];
    for (let p: ServiceModel | undefined = b.prev; p; p = best.get(keyOf(p))!.prev) chain.unshift(p);
    const factors = chain.slice(1).map((s) => tries(worstRoute(s) ?? ({} as RouteModel)));
    const r = worstRoute(v);
    out.push({
      code: 'WEFT_ERR_RETRY_AMPLIFICATION', severity: 'error', ...owner(v, r, 'retries.attempts'),
      message: `${chain.map(keyOf).join(' → ')}: one request may become ${factors.join(' × ')} = ${b.amp} requests to ${keyOf(v)}, above maxRetryAmplification ${limit}`,
      fix: 'retry at one layer only (usually the edge): lower or drop retries on a hop of this path, or raise Mesh maxRetryAmplification',
      path: chain.map(keyOf),
    });
  }
}

/** Cycles of the call graph with a retrying hop: a retry re-enters the cycle and can loop until every deadline fires. */
function cycles(model: MeshModel, callees: (s: ServiceModel) => ServiceModel[], out: GraphProblem[]): void {
  // Tarjan's strongly connected components (iterative enough for meshes: depth = longest call chain).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: ServiceModel[] = [];
  const onStack = new Set<string>();
  const sccs: ServiceModel[][] = [];
  const strong = (v: ServiceModel) => {
    const k = keyOf(v);
    idx.set(k, index); low.set(k, index); index++;
    stack.push(v); onStack.add(k);
    for (const w of callees(v)) {
      const wk = keyOf(w);
      if (!idx.has(wk)) { strong(w); low.set(k, Math.min(low.get(k)!, low.get(wk)!)); } else if (onStack.has(wk)) low.set(k, Math.min(low.get(k)!, idx.get(wk)!));
    }
    if (low.get(k) === idx.get(k)) {
      const comp: ServiceModel[] = [];
      let w: ServiceModel;
      do { w = stack.pop()!; onStack.delete(keyOf(w)); comp.push(w); } while (keyOf(w) !== k);
      if (comp.length > 1) sccs.push(comp);
    }
  };
  for (const s of model.services) if (!idx.has(keyOf(s))) strong(s);
  for (const comp of sccs) {
    const members = new Set(comp.map(keyOf));
    const retrying = comp.filter((s) => liveRoutes(s).some((r) => r.retries)).sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    if (!retrying.length) continue;
    const start = retrying[0];
    const cycle = findCycle(start, (s) => callees(s).filter((c) => members.has(keyOf(c))));
    const r = liveRoutes(start).find((x) => x.retries);
    out.push({
      code: 'WEFT_ERR_RETRY_CYCLE', severity: 'error', ...owner(start, r, 'retries'),
      message: `${cycle.map(keyOf).join(' → ')} is a cycle and ${retrying.map(keyOf).join(', ')} retr${retrying.length > 1 ? 'y' : 'ies'} inside it: a retry re-enters the cycle, so one request can loop and multiply until every deadline fires`,
      fix: 'break the cycle (one of these calls should be asynchronous or go away) or remove the retries of the services in it',
      path: cycle.map(keyOf),
    });
  }
}

/** A simple cycle from `start` back to it (BFS for the shortest). */
function findCycle(start: ServiceModel, next: (s: ServiceModel) => ServiceModel[]): ServiceModel[] {
  const prev = new Map<string, ServiceModel>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const n of next(queue[i])) {
      if (keyOf(n) === keyOf(start)) {
        const path = [start];
        for (let p: ServiceModel | undefined = queue[i]; p && keyOf(p) !== keyOf(start); p = prev.get(keyOf(p))) path.splice(1, 0, p);
        return [...path, start];
      }
      if (!prev.has(keyOf(n))) { prev.set(keyOf(n), queue[i]); queue.push(n); }
    }
  }
  return [start, start];
}

/** The caller's per-request deadline must leave room for the callee's retries. */
function timeoutBudget(u: ServiceModel, v: ServiceModel, out: GraphProblem[]): void {
  const uRoutes = liveRoutes(u);
  const deadlines = uRoutes.map(deadline);
  if (!deadlines.length || deadlines.some((d) => d === undefined)) return;
  const uDeadline = Math.max(...(deadlines as number[]));
  const how = uRoutes.some((r) => r.retries?.perTryTimeoutMs === uDeadline) ? 'perTryTimeout' : 'timeout';
  for (const r of liveRoutes(v)) {
    const budget = retryBudget(r);
    if (budget === undefined || budget <= uDeadline) continue;
    const per = r.retries!.perTryTimeoutMs;
    out.push({
      code: 'WEFT_ERR_TIMEOUT_BUDGET', severity: 'error', ...owner(v, r, 'retries'),
      message: `${keyOf(u)} → ${keyOf(v)}: requests to ${keyOf(u)} end after ${ms(uDeadline)} (its ${how}), but its call to ${keyOf(v)} may take ${per !== undefined ? `${tries(r)} tries × ${ms(per)} = ` : ''}${ms(budget)} with retries (route ${r.name}), so the last tries run for a caller that has already given up`,
      fix: `make ${v.name}'s tries fit in ${ms(uDeadline)} (fewer attempts or a shorter perTryTimeout/timeout), or give ${u.name} a longer ${how}`,
      path: [keyOf(u), keyOf(v)],
    });
  }
}

/** Retries that may re-send a POST or PATCH need the `idempotent` opt-in. */
function nonIdempotent(model: MeshModel, s: ServiceModel, callers: ServiceModel[], out: GraphProblem[]): void {
  if (!s.ports.some((p) => p.protocol === 'http' || p.protocol === 'http2')) return; // gRPC methods carry their own retry policy
  for (const r of liveRoutes(s)) {
    if (!r.retries || r.retries.idempotent || r.retries.on.every((c) => SAFE_RETRY_ON.includes(c))) continue;
    const unsafe = r.retries.on.filter((c) => !SAFE_RETRY_ON.includes(c));
    const explicit = r.matches.map((m) => m.method).filter((m): m is string => m !== undefined && NON_IDEMPOTENT_METHODS.includes(m));
    const anyMethod = !r.matches.length || r.matches.some((m) => m.method === undefined);
    const fix = `retry only on ${SAFE_RETRY_ON.join('/')} for this route, or set retries.idempotent: true if the app makes ${explicit.length ? explicit.join('/') : 'POST/PATCH'} idempotent (e.g. idempotency keys)`;
    if (explicit.length) {
      out.push({
        code: 'WEFT_ERR_RETRY_NON_IDEMPOTENT', severity: 'error', ...owner(s, r, 'retries'),
        message: `route ${r.name} of ${keyOf(s)} matches ${[...new Set(explicit)].join('/')} and retries on ${unsafe.join(', ')}, which re-sends requests the app may already have processed`,
        fix, path: [keyOf(s)],
      });
      continue;
    }
    if (!anyMethod) continue;
    for (const c of callers) {
      const method = NON_IDEMPOTENT_METHODS.find((m) => probes(model, s).some((p) => allowed(model, c, s, { ...p, method: m })));
      if (!method) continue;
      out.push({
        code: 'WEFT_WARN_RETRY_NON_IDEMPOTENT', severity: 'warning', ...owner(s, r, 'retries'),
        message: `${keyOf(c)} → ${keyOf(s)}: route ${r.name} takes any method and retries on ${unsafe.join(', ')}, and the authorization lets ${keyOf(c)} send ${method}, so a ${method} may be re-sent`,
        fix: `${fix}, or allow only idempotent methods to callers (MtlsPolicy to: { methods: ['GET'] })`,
        path: [keyOf(c), keyOf(s)],
      });
      break;
    }
  }
}

interface Probe { readonly port: number; readonly method: string; readonly path: string }

/** Requests worth asking the authorizer about: GET / on each port, and one per operation the callee's policies name. */
function probes(model: MeshModel, v: ServiceModel): Probe[] {
  const out: Probe[] = [];
  const concrete = (p: string) => (p.startsWith('*') ? `/x${p.slice(1)}` : p.replace(/\*$/, 'x'));
  const ops = model.policies.filter((p) => p.service === v.name && p.namespace === v.namespace).flatMap((p) => p.rules.flatMap((r) => r.to));
  for (const port of v.ports) {
    out.push({ port: port.port, method: 'GET', path: '/' });
    for (const op of ops) {
      if (op.ports.length && !op.ports.includes(port.port) && !op.ports.includes(port.targetPort)) continue;
      for (const path of op.paths.length ? op.paths : ['/']) {
        for (const method of op.methods.length ? op.methods : ['GET']) out.push({ port: port.port, method, path: concrete(path) });
      }
    }
  }
  return out;
}

function allowed(model: MeshModel, u: ServiceModel, v: ServiceModel, p: Probe): boolean {
  const from = u.meshed === false ? 'unmeshed' as const : { service: u.name, namespace: u.namespace };
  return mayCall(model, { from, to: { service: v.name, namespace: v.namespace, port: p.port }, method: p.method, path: p.path }).allowed;
}

/** A declared call no request can make: the authorization (the proxy's own evaluator, via mayCall) denies it. */
function deniedCalls(model: MeshModel, u: ServiceModel, out: GraphProblem[]): void {
  u.calls.forEach((ref) => {
    const v = model.services.find((s) => s.name === ref.name && s.namespace === ref.namespace);
    if (!v || keyOf(v) === keyOf(u)) return;
    const from = u.meshed === false ? 'unmeshed' as const : { service: u.name, namespace: u.namespace };
    const decisions = probes(model, v).map((p) => mayCall(model, { from, to: { service: v.name, namespace: v.namespace, port: p.port }, method: p.method, path: p.path }));
    if (decisions.some((d) => d.allowed)) return;
    // A plaintext caller to a STRICT port is WEFT_ERR_UNMESHED_CALLER (mesh rules), not an authorization problem.
    if (decisions.every((d) => d.reason === 'plaintext_refused')) return;
    const d = decisions.find((x) => x.reason !== 'plaintext_refused')!;
    out.push({
      code: 'WEFT_ERR_CALL_DENIED', severity: 'error', kind: 'MeshService', namespace: u.namespace, name: u.name, field: 'spec.calls',
      message: `${keyOf(u)} → ${keyOf(v)}: the call is declared, but the authorization denies every request ${keyOf(u)} can make (${d.reason}${d.policy ? ` by ${d.policy}` : ''})`,
      fix: `allow it in an MtlsPolicy on ${v.name} (allow({ from: { services: [${u.name}] } })), or drop the call`,
      path: [keyOf(u), keyOf(v)],
    });
  });
}

/** Versions that receive traffic: weight > 0 on a live route, or a mirror target. */
function routedVersions(s: ServiceModel): { versions: string[]; route?: RouteModel } {
  const names = new Set<string>();
  let route: RouteModel | undefined;
  for (const r of liveRoutes(s)) {
    for (const b of r.backends) if (b.weight > 0) names.add(b.version);
    if (r.mirror) names.add(r.mirror.version);
    if (r.source && !route) route = r;
  }
  return { versions: s.versions.map((v) => v.name).filter((v) => names.has(v)), route };
}

/** Canary versions that call different services: the extra call needs an ALLOW rule naming the caller on the callee. */
function canaryCalls(model: MeshModel, s: ServiceModel, byKey: Map<string, ServiceModel>, out: GraphProblem[]): void {
  const extras = new Map(s.versions.map((v) => [v.name, new Set((v.calls ?? []).map(keyOf))]));
  const allExtras = new Set([...extras.values()].flatMap((x) => [...x]));
  if (!allExtras.size) return;
  const { versions, route } = routedVersions(s);
  if (versions.length < 2) return;
  const differing = new Map<string, string[]>();
  for (const c of allExtras) {
    const callers = versions.filter((v) => extras.get(v)!.has(c));
    if (callers.length && callers.length < versions.length) differing.set(c, callers);
  }
  for (const [c, vs] of differing) {
    const callee = byKey.get(c);
    if (!callee || explicitlyAllowed(model, s, callee)) continue;
    const others = versions.filter((v) => !vs.includes(v));
    out.push({
      code: 'WEFT_ERR_CANARY_CALLS_UNPOLICED', severity: 'error',
      ...(route?.source ? { kind: 'CanaryRoute' as const, namespace: s.namespace, name: route.source, field: 'spec.routes' } : { kind: 'MeshService' as const, namespace: s.namespace, name: s.name, field: 'spec.versions' }),
      message: `${keyOf(s)}@${vs.join(',')} calls ${c} but ${keyOf(s)}@${others.join(',')} does not, and both get traffic; no MtlsPolicy on ${c} names ${keyOf(s)}, so the new dependency is allowed only by default`,
      fix: `add an MtlsPolicy on ${callee.name} that allows ${s.name} (allow({ from: { services: [${s.name}] } })), or declare the call on every version`,
      path: [`${keyOf(s)}@${vs[0]}`, c],
    });
  }
}

/** Whether an ALLOW rule on `callee` names `caller`'s identity or namespace (not just "anyone"). */
function explicitlyAllowed(model: MeshModel, caller: ServiceModel, callee: ServiceModel): boolean {
  const glob = (pattern: string, v: string) => pattern === v
    || (pattern.endsWith('*') && v.startsWith(pattern.slice(0, -1)))
    || (pattern.startsWith('*') && v.endsWith(pattern.slice(1)));
  return model.policies.filter((p) => p.service === callee.name && p.namespace === callee.namespace).some((p) => p.rules.some((r) => r.action === 'ALLOW'
    && r.from.some((f) => f.principals.some((x) => x !== '*' && glob(x, caller.identity)) || f.namespaces.includes(caller.namespace))));
}
