/**
 * Cross-resource rules of a mesh that need only the custom resources: the constructs run them at
 * synth time, `weft check` runs them offline on `dist/`. Pure: resources in, problems out.
 */
import { resourceProblems } from './crds';
import { parseDuration } from './duration';
import { parseSpiffeId } from './names';
import type {
  CanaryRouteSpec, Kind, MeshConfigSpec, MeshServiceSpec, MtlsModeName, MtlsPolicySpec, PortSpec, Retries, RouteMatch, RouteRule, WeftResource,
} from './resources';
import { API_VERSION } from './resources';
import { RESERVED_PORT_LIST } from './bootstrap';

/** Annotation a MeshService carries when its workload runs without a sidecar (`"false"`). */
export const MESHED_ANNOTATION = 'weft.dev/meshed';
/**
 * Annotation (`"true"`) on the MeshConfig a `Mesh.fromExisting()` reference checks against: the
 * resources are one repository's part of a mesh installed elsewhere, so a call or a policy source
 * naming a service of another repository is not an error here.
 */
export const MESH_REFERENCE_ANNOTATION = 'weft.dev/mesh-reference';
/** Namespace of the control plane when no MeshConfig says otherwise; mesh-wide MtlsPolicies live here. */
export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'weft-system';

/** One thing wrong with a set of resources. `code` is a stable `WEFT_ERR_*`. */
export interface MeshProblem {
  readonly code: string;
  readonly kind: Kind;
  /** Namespace of the resource at fault (undefined for cluster-scoped kinds). */
  readonly namespace?: string;
  readonly name: string;
  /** JSON path inside the resource (`spec.routes[1].backends`). */
  readonly field: string;
  readonly message: string;
  /** How to fix it, when the rule knows better than the code's generic advice. */
  readonly fix?: string;
  /** Position of the resource at fault in the input list (names collide when the problem is a duplicate). */
  readonly index: number;
}

/** Whether a decoded YAML document is a weft custom resource. */
export function isWeftResource(doc: unknown): doc is WeftResource<unknown> {
  return typeof doc === 'object' && doc !== null && (doc as { apiVersion?: unknown }).apiVersion === API_VERSION;
}

interface Svc { readonly res: WeftResource<MeshServiceSpec>; readonly ns: string; readonly spec: MeshServiceSpec; readonly meshed: boolean }

const nsOf = (r: WeftResource<unknown>) => r.metadata.namespace ?? 'default';
const key = (ns: string, name: string) => `${ns}/${name}`;

/** Every problem across `resources`; empty when the mesh is consistent. */
export function meshProblems(resources: readonly WeftResource<unknown>[]): MeshProblem[] {
  const out: MeshProblem[] = [];
  const at = (r: WeftResource<unknown>, code: string, field: string, message: string, fix?: string) =>
    out.push({ code, kind: r.kind, namespace: r.kind === 'MeshConfig' ? undefined : nsOf(r), name: r.metadata?.name ?? '', field, message, ...(fix ? { fix } : {}), index: resources.indexOf(r) });

  // Schema first: later rules may assume well-formed specs.
  const valid: WeftResource<unknown>[] = [];
  const seen = new Set<string>();
  for (const r of resources) {
    const problems = resourceProblems(r);
    if (!r.metadata?.name) problems.push('metadata.name: is required');
    if (problems.length) { at(r, 'WEFT_ERR_INVALID_RESOURCE', 'spec', problems.join('; ')); continue; }
    const k = `${r.kind}/${r.kind === 'MeshConfig' ? '' : nsOf(r)}/${r.metadata.name}`;
    if (seen.has(k)) { at(r, 'WEFT_ERR_DUPLICATE_NAME', 'metadata.name', `${r.kind} ${JSON.stringify(r.metadata.name)} is defined twice`); continue; }
    seen.add(k);
    valid.push(r);
  }
  const of = <S>(kind: Kind) => valid.filter((r) => r.kind === kind) as WeftResource<S>[];

  const configs = of<MeshConfigSpec>('MeshConfig');
  configs.slice(1).forEach((c) => at(c, 'WEFT_ERR_MULTIPLE_MESHES', 'metadata.name', `a second MeshConfig ${JSON.stringify(c.metadata.name)} (first: ${JSON.stringify(configs[0].metadata.name)})`));
  const cfg = configs[0];
  const cpNs = cfg?.spec.controlPlane.namespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE;

  const services = new Map<string, Svc>();
  for (const r of of<MeshServiceSpec>('MeshService')) {
    services.set(key(nsOf(r), r.metadata.name), { res: r, ns: nsOf(r), spec: r.spec, meshed: r.metadata.annotations?.[MESHED_ANNOTATION] !== 'false' });
  }
  const resolve = (ref: { name: string; namespace?: string }, ns: string) => services.get(key(ref.namespace ?? ns, ref.name));
  const partial = cfg?.metadata.annotations?.[MESH_REFERENCE_ANNOTATION] === 'true';

  for (const s of services.values()) serviceRules(s, at, resolve, partial);
  const policies = of<MtlsPolicySpec>('MtlsPolicy');
  for (const p of policies) policyRules(p, cpNs, cfg, services, at, partial);
  routeRules(of<CanaryRouteSpec>('CanaryRoute'), resolve, at);
  unmeshedCallerRules(services, policies, cfg, cpNs, resolve, at);
  strictUnmeshedRules(services, policies, cfg, cpNs, at);
  return out;
}

type At = (r: WeftResource<unknown>, code: string, field: string, message: string, fix?: string) => void;
type Resolve = (ref: { name: string; namespace?: string }, ns: string) => Svc | undefined;

// --- impl MeshService ---

function serviceRules(s: Svc, at: At, resolve: Resolve, partial: boolean): void {
  const { res, spec } = s;
  dupes(spec.ports.map((p) => p.name), (i, n) => at(res, 'WEFT_ERR_DUPLICATE_NAME', `spec.ports[${i}].name`, `port name ${JSON.stringify(n)} is used twice`));
  dupes(spec.ports.map((p) => String(p.port)), (i, n) => at(res, 'WEFT_ERR_DUPLICATE_NAME', `spec.ports[${i}].port`, `port ${n} is declared twice`));
  dupes(spec.versions.map((v) => v.name), (i, n) => at(res, 'WEFT_ERR_DUPLICATE_NAME', `spec.versions[${i}].name`, `version ${JSON.stringify(n)} is declared twice`));
  spec.ports.forEach((p, i) => {
    for (const [field, n] of [['port', p.port], ['targetPort', p.targetPort]] as const) {
      if (n !== undefined && RESERVED_PORT_LIST.includes(n)) at(res, 'WEFT_ERR_RESERVED_PORT', `spec.ports[${i}].${field}`, `port ${n} is reserved by the proxy (${RESERVED_PORT_LIST.join(', ')})`);
    }
  });
  const calls = [
    ...(spec.calls ?? []).map((c, i) => ({ c, field: `spec.calls[${i}]` })),
    ...spec.versions.flatMap((v, j) => (v.calls ?? []).map((c, i) => ({ c, field: `spec.versions[${j}].calls[${i}]` }))),
  ];
  for (const { c, field } of calls) {
    if (!resolve(c, s.ns)) {
      if (!partial) at(res, 'WEFT_ERR_UNKNOWN_SERVICE', field, `calls ${key(c.namespace ?? s.ns, c.name)}, which is not a MeshService of this mesh`);
    } else if (resolve(c, s.ns) === s) {
      at(res, 'WEFT_ERR_SELF_CALL', field, `${key(s.ns, res.metadata.name)} declares a call to itself`, 'drop the call: a service reaches itself in-process; a request looping through its own proxy multiplies retries and timeouts');
    }
  }
  retryBudget(spec.trafficPolicy?.retries, spec.trafficPolicy?.timeout, (m) => at(res, 'WEFT_ERR_RETRY_EXCEEDS_TIMEOUT', 'spec.trafficPolicy.retries', m));
}

function retryBudget(retries: Retries | undefined, timeout: string | undefined, report: (m: string) => void): void {
  if (!retries?.perTryTimeout || !timeout) return;
  const perTry = parseDuration(retries.perTryTimeout);
  const total = parseDuration(timeout);
  if (perTry * (retries.attempts + 1) > total) {
    report(`perTryTimeout ${retries.perTryTimeout} × (attempts ${retries.attempts} + 1) = ${perTry * (retries.attempts + 1)}ms exceeds the timeout ${timeout}`);
  }
}

function dupes(names: readonly string[], report: (index: number, name: string) => void): void {
  const seen = new Set<string>();
  names.forEach((n, i) => (seen.has(n) ? report(i, n) : seen.add(n)));
}

// --- impl CanaryRoute ---

const isL7 = (r: RouteRule) =>
  Boolean(r.match?.length || r.requestHeaders || r.responseHeaders || r.fault || r.redirect || r.directResponse || r.mirror || r.retries || r.timeout);

function routeRules(routes: WeftResource<CanaryRouteSpec>[], resolve: Resolve, at: At): void {
  const byService = new Map<string, WeftResource<CanaryRouteSpec>[]>();
  for (const cr of routes) {
    const svc = resolve(cr.spec.service, nsOf(cr));
    if (!svc) { at(cr, 'WEFT_ERR_UNKNOWN_SERVICE', 'spec.service', `routes ${key(cr.spec.service.namespace ?? nsOf(cr), cr.spec.service.name)}, which is not a MeshService of this mesh`); continue; }
    const k = key(svc.ns, svc.res.metadata.name);
    for (const other of byService.get(k) ?? []) {
      if (!cr.spec.port || !other.spec.port || cr.spec.port === other.spec.port) {
        at(cr, 'WEFT_ERR_ROUTE_CONFLICT', 'spec.port', `CanaryRoute ${JSON.stringify(other.metadata.name)} already routes ${k} port ${other.spec.port ?? cr.spec.port ?? '(all)'}`);
      }
    }
    byService.set(k, [...(byService.get(k) ?? []), cr]);
    oneRoute(cr, svc, at);
  }
}

function oneRoute(cr: WeftResource<CanaryRouteSpec>, svc: Svc, at: At): void {
  const { spec } = cr;
  let ports: readonly PortSpec[] = svc.spec.ports;
  if (spec.port !== undefined) {
    ports = ports.filter((p) => p.name === spec.port);
    if (!ports.length) at(cr, 'WEFT_ERR_UNKNOWN_PORT', 'spec.port', `${svc.res.metadata.name} has no port named ${JSON.stringify(spec.port)} (ports: ${svc.spec.ports.map((p) => p.name).join(', ')})`);
  }
  const l7 = ports.some((p) => p.protocol !== 'tcp');
  const versions = new Map(svc.spec.versions.map((v) => [v.name, v]));
  dupes(spec.routes.map((r, i) => r.name ?? `#${i}`), (i, n) => at(cr, 'WEFT_ERR_DUPLICATE_NAME', `spec.routes[${i}].name`, `route name ${JSON.stringify(n)} is used twice`));
  spec.routes.forEach((r, i) => {
    const f = `spec.routes[${i}]`;
    if (ports.length && !l7 && isL7(r)) {
      at(cr, 'WEFT_ERR_PROTOCOL_MISMATCH', f, `route ${r.name ?? i} uses HTTP features (match, headers, retries, timeout, fault, redirect, mirror) but port ${ports.map((p) => `${p.name}/${p.protocol}`).join(', ')} is opaque tcp`);
    }
    const backends = r.backends ?? [];
    if (!backends.length && !r.redirect && !r.directResponse) at(cr, 'WEFT_ERR_MISSING_PROP', `${f}.backends`, 'a route needs backends, a redirect or a direct response');
    if (backends.length) {
      const sum = backends.reduce((a, b) => a + b.weight, 0);
      if (sum !== 100) at(cr, 'WEFT_ERR_INVALID_WEIGHT', `${f}.backends`, `weights sum to ${sum}, not 100`);
    }
    dupes(backends.map((b) => b.version), (j, n) => at(cr, 'WEFT_ERR_DUPLICATE_NAME', `${f}.backends[${j}]`, `version ${JSON.stringify(n)} is listed twice`));
    backends.forEach((b, j) => {
      const v = versions.get(b.version);
      if (!v) at(cr, 'WEFT_ERR_UNKNOWN_VERSION', `${f}.backends[${j}].version`, `${svc.res.metadata.name} has no version ${JSON.stringify(b.version)} (versions: ${[...versions.keys()].join(', ')})`);
      else if (b.weight > 0 && v.replicas === 0) at(cr, 'WEFT_ERR_ZERO_REPLICAS', `${f}.backends[${j}].weight`, `weight ${b.weight} goes to version ${b.version}, which has 0 replicas`);
    });
    if (r.mirror && !versions.has(r.mirror.version)) at(cr, 'WEFT_ERR_UNKNOWN_VERSION', `${f}.mirror.version`, `${svc.res.metadata.name} has no version ${JSON.stringify(r.mirror.version)}`);
    retryBudget(r.retries ?? svc.spec.trafficPolicy?.retries, r.timeout ?? svc.spec.trafficPolicy?.timeout, (m) => at(cr, 'WEFT_ERR_RETRY_EXCEEDS_TIMEOUT', `${f}.retries`, m));
    const earlier = spec.routes.slice(0, i).findIndex((e) => ruleCovers(e, r));
    if (earlier >= 0) {
      at(cr, 'WEFT_ERR_SHADOWED_MATCH', `${f}.match`, `route ${r.name ?? i} can never match: route ${spec.routes[earlier].name ?? earlier} before it matches every request it matches`);
    }
  });
  stepRules(cr, at);
}

function stepRules(cr: WeftResource<CanaryRouteSpec>, at: At): void {
  const steps = cr.spec.steps;
  if (!steps?.length) return;
  if (!cr.spec.routes.some((r) => (r.backends ?? []).length === 2)) {
    at(cr, 'WEFT_ERR_INVALID_STEP', 'spec.steps', 'steps shift weight between a stable and a canary version, but no route splits exactly two versions');
  }
  steps.forEach((s, i) => {
    if (i > 0 && s.weight < steps[i - 1].weight) at(cr, 'WEFT_ERR_INVALID_STEP', `spec.steps[${i}].weight`, `step weight ${s.weight} is below the previous step's ${steps[i - 1].weight}; canary steps only move forward`);
  });
}

/** Whether rule `a` matches every request `b` matches (so `b`, after `a`, never runs). Conservative: true only when certain. */
export function ruleCovers(a: RouteRule, b: RouteRule): boolean {
  const am = a.match ?? [];
  if (!am.length) return true;
  const bm = b.match ?? [];
  if (!bm.length) return am.some((m) => isCatchAll(m));
  return bm.every((mb) => am.some((ma) => matchCovers(ma, mb)));
}

const isCatchAll = (m: RouteMatch) => !m.method && !m.headers?.length && !m.query?.length && (!m.path || m.path.prefix === '/' || m.path.prefix === '');

function matchCovers(a: RouteMatch, b: RouteMatch): boolean {
  if (a.path && !(a.path.prefix === '/' || a.path.prefix === '')) {
    if (!b.path) return false;
    if (a.path.exact !== undefined && b.path.exact !== a.path.exact) return false;
    if (a.path.regex !== undefined && b.path.regex !== a.path.regex) return false;
    if (a.path.prefix !== undefined) {
      const p = a.path.prefix;
      if (!((b.path.exact ?? '').startsWith(p) && b.path.exact !== undefined) && !(b.path.prefix !== undefined && b.path.prefix.startsWith(p))) return false;
    }
  }
  if (a.method && a.method !== b.method) return false;
  const same = (x: readonly unknown[] | undefined, y: readonly unknown[] | undefined) =>
    (x ?? []).every((h) => (y ?? []).some((g) => JSON.stringify(norm(h)) === JSON.stringify(norm(g))));
  return same(a.headers, b.headers) && same(a.query, b.query);
}

const norm = (h: unknown) => Object.fromEntries(Object.entries(h as object).filter(([, v]) => v !== undefined && v !== false).sort(([x], [y]) => x.localeCompare(y)));

// --- impl MtlsPolicy ---

function policyRules(p: WeftResource<MtlsPolicySpec>, cpNs: string, cfg: WeftResource<MeshConfigSpec> | undefined, services: Map<string, Svc>, at: At, partial: boolean): void {
  const ns = nsOf(p);
  const scope = p.spec.scope ?? {};
  if (scope.port !== undefined && !scope.service) at(p, 'WEFT_ERR_INVALID_SCOPE', 'spec.scope.port', 'a port scope needs a service scope');
  if (scope.namespace && scope.namespace !== ns && ns !== cpNs) {
    at(p, 'WEFT_ERR_INVALID_SCOPE', 'spec.scope.namespace', `a policy in namespace ${ns} may only scope its own namespace (only ${cpNs} may scope others), not ${scope.namespace}`);
  }
  let target: Svc | undefined;
  if (scope.service) {
    target = services.get(key(scope.namespace ?? ns, scope.service));
    if (!target) at(p, 'WEFT_ERR_UNKNOWN_SERVICE', 'spec.scope.service', `${key(scope.namespace ?? ns, scope.service)} is not a MeshService of this mesh`);
    else if (scope.port !== undefined && !target.spec.ports.some((q) => q.port === scope.port || q.targetPort === scope.port)) {
      at(p, 'WEFT_ERR_UNKNOWN_PORT', 'spec.scope.port', `${scope.service} has no port ${scope.port} (ports: ${target.spec.ports.map((q) => q.port).join(', ')})`);
    }
  }
  const identities = [...services.values()].filter((s) => s.meshed);
  (p.spec.rules ?? []).forEach((rule, i) => {
    (rule.from ?? []).forEach((src, j) => {
      const f = `spec.rules[${i}].from[${j}]`;
      const unknown = (what: string, value: string, why: string) => at(p, 'WEFT_ERR_UNKNOWN_IDENTITY', `${f}.${what}`, `${JSON.stringify(value)} ${why}`);
      // In one repository's part of a mesh, identities of other repositories' services are expected.
      const absent = (what: string, value: string, why: string) => { if (!partial) unknown(what, value, why); };
      for (const pr of src.principals ?? []) {
        if (pr.includes('*')) continue;
        const id = parseSpiffeId(pr);
        if (!id) unknown('principals', pr, 'is not a SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>)');
        else if (cfg && id.trustDomain !== cfg.spec.trustDomain) unknown('principals', pr, `is in trust domain ${id.trustDomain}, not the mesh's ${cfg.spec.trustDomain}`);
        else if (!identities.some((s) => s.ns === id.namespace && s.spec.serviceAccount === id.serviceAccount)) absent('principals', pr, 'is the identity of no meshed MeshService');
      }
      for (const sa of src.serviceAccounts ?? []) {
        if (sa.includes('*')) continue;
        const [sns, sname] = sa.includes('/') ? sa.split('/', 2) : [ns, sa];
        if (!identities.some((s) => s.ns === sns && s.spec.serviceAccount === sname)) absent('serviceAccounts', sa, 'is the service account of no meshed MeshService');
      }
      for (const n of src.namespaces ?? []) {
        if (!identities.some((s) => s.ns === n)) absent('namespaces', n, 'holds no meshed MeshService');
      }
      for (const ref of src.services ?? []) {
        const s = services.get(key(ref.namespace ?? ns, ref.name));
        if (!s) absent('services', key(ref.namespace ?? ns, ref.name), 'is not a MeshService of this mesh');
        else if (!s.meshed) unknown('services', key(s.ns, ref.name), 'runs without a sidecar, so it has no identity to match');
      }
    });
    if (!target) return;
    (rule.to ?? []).forEach((op, j) => {
      if (!op.paths?.length && !op.methods?.length) return;
      const ports = target.spec.ports.filter((q) => (scope.port === undefined || q.port === scope.port || q.targetPort === scope.port)
        && (!op.ports?.length || op.ports.includes(q.port) || (q.targetPort !== undefined && op.ports.includes(q.targetPort))));
      if (ports.length && ports.every((q) => q.protocol === 'tcp')) {
        at(p, 'WEFT_ERR_PROTOCOL_MISMATCH', `spec.rules[${i}].to[${j}]`, `paths/methods are HTTP conditions but port ${ports.map((q) => `${q.port}/tcp`).join(', ')} is opaque tcp`);
      }
    });
  });
}

/** The effective mTLS mode of one port of a service, and the resource that decided it. */
export function effectiveMtlsMode(
  svc: { ns: string; name: string; port: PortSpec },
  policies: readonly WeftResource<MtlsPolicySpec>[],
  cfg: WeftResource<MeshConfigSpec> | undefined,
  cpNs = cfg?.spec.controlPlane.namespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE,
): { mode: MtlsModeName; decidedBy?: WeftResource<unknown> } {
  let best: { rank: number; p: WeftResource<MtlsPolicySpec> } | undefined;
  for (const p of policies) {
    if (!p.spec.mode) continue;
    const ns = nsOf(p);
    const scope = p.spec.scope ?? {};
    const scopeNs = scope.namespace ?? (ns === cpNs && !scope.service ? undefined : ns);
    let rank = 0;
    if (scope.service) {
      if (scope.service !== svc.name || (scope.namespace ?? ns) !== svc.ns) continue;
      if (scope.port !== undefined) {
        if (scope.port !== svc.port.port && scope.port !== svc.port.targetPort) continue;
        rank = 4;
      } else rank = 3;
    } else if (scopeNs !== undefined) {
      if (scopeNs !== svc.ns) continue;
      rank = 2;
    } else rank = 1;
    if (!best || rank > best.rank) best = { rank, p };
  }
  if (best) return { mode: best.p.spec.mode!, decidedBy: best.p };
  return { mode: cfg?.spec.defaultMtlsMode ?? 'PERMISSIVE', decidedBy: cfg };
}

function unmeshedCallerRules(services: Map<string, Svc>, policies: WeftResource<MtlsPolicySpec>[], cfg: WeftResource<MeshConfigSpec> | undefined, cpNs: string, resolve: Resolve, at: At): void {
  for (const caller of services.values()) {
    if (caller.meshed) continue;
    for (const ref of caller.spec.calls ?? []) {
      const callee = resolve(ref, caller.ns);
      if (!callee) continue;
      for (const port of callee.spec.ports) {
        const { mode, decidedBy } = effectiveMtlsMode({ ns: callee.ns, name: callee.res.metadata.name, port }, policies, cfg, cpNs);
        if (mode !== 'STRICT') continue;
        const msg = `${key(caller.ns, caller.res.metadata.name)} runs without a sidecar and calls ${key(callee.ns, callee.res.metadata.name)}, whose port ${port.port} requires mTLS (STRICT)`;
        const fix = `mesh ${caller.res.metadata.name}, or add an MtlsPolicy with mode PERMISSIVE for ${callee.res.metadata.name} port ${port.port}`;
        if (decidedBy) at(decidedBy, 'WEFT_ERR_UNMESHED_CALLER', decidedBy.kind === 'MeshConfig' ? 'spec.defaultMtlsMode' : 'spec.mode', msg, fix);
        else at(caller.res, 'WEFT_ERR_UNMESHED_CALLER', 'spec.calls', msg, fix);
        break;
      }
    }
  }
}

/**
 * STRICT aimed at one workload that runs without a sidecar: nothing there can terminate mTLS, so the
 * policy is silently not enforced. Reported when a service- or port-scoped policy says so; a mesh-
 * or namespace-wide STRICT does not apply to unmeshed workloads (docs/constructs.md).
 */
function strictUnmeshedRules(services: Map<string, Svc>, policies: WeftResource<MtlsPolicySpec>[], cfg: WeftResource<MeshConfigSpec> | undefined, cpNs: string, at: At): void {
  for (const s of services.values()) {
    if (s.meshed) continue;
    for (const port of s.spec.ports) {
      const { mode, decidedBy } = effectiveMtlsMode({ ns: s.ns, name: s.res.metadata.name, port }, policies, cfg, cpNs);
      const scoped = decidedBy?.kind === 'MtlsPolicy' && (decidedBy as WeftResource<MtlsPolicySpec>).spec.scope?.service !== undefined;
      if (mode !== 'STRICT' || !scoped) continue;
      at(decidedBy!, 'WEFT_ERR_STRICT_UNMESHED', 'spec.mode', `STRICT mTLS for ${key(s.ns, s.res.metadata.name)} port ${port.port}, but it runs without a sidecar (meshed: false), so nothing can enforce it`,
        `mesh ${s.res.metadata.name} (meshed: true), or drop the STRICT mode for it`);
      break;
    }
  }
}
