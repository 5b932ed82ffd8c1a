/**
 * Custom resources + endpoints → the mesh model. Every resource is judged on its own and gets a
 * ResourceStatus; a rejected one is left out and the rest still build, so one bad CanaryRoute never
 * takes the mesh down. Defaults live here, once, so translate() reads resolved values only.
 */
import { isIP } from 'net';
import { resourceProblems } from './crds';
import { parseDuration } from './duration';
import type { EndpointModel, MeshModel, MeshSettings, RouteModel, ServiceModel } from './model';
import { spiffeId } from './names';
import type { CanaryRouteSpec, MeshConfigSpec, MeshServiceSpec, MtlsPolicySpec, WeftResource } from './resources';
import type { ResourceStatus } from './status';
import { RESERVED_PORT_LIST } from './bootstrap';
import { buildPolicies } from './build-policy';
import { buildRoute, defaultBackends, retriesOf, RouteProblem } from './build-route';
import { MESHED_ANNOTATION } from './mesh-rules';

/** Mesh settings used when no MeshConfig exists (Istio-like: PERMISSIVE mTLS, allow by default). */
export const DEFAULT_MESH: MeshSettings = {
  name: 'default',
  trustDomain: 'cluster.local',
  defaultMtlsMode: 'PERMISSIVE',
  defaultInboundPolicy: 'allow',
  certificateTtlMs: 24 * 3_600_000,
};

/** Namespace of a namespaced resource that names none. */
export const DEFAULT_NAMESPACE = 'default';

/** The result of building: the model plus one verdict per input resource. */
export interface BuildResult {
  readonly model: MeshModel;
  readonly statuses: ResourceStatus[];
}

type Res<S> = WeftResource<S>;
const nsOf = (r: Res<unknown>) => r.metadata?.namespace ?? DEFAULT_NAMESPACE;
const keyOf = (ns: string, name: string) => `${ns}/${name}`;
const byKey = (a: Res<unknown>, b: Res<unknown>) => keyOf(nsOf(a), a.metadata.name).localeCompare(keyOf(nsOf(b), b.metadata.name));

/** Collects statuses; `reject()` / `accept()` record the verdict of one resource. */
export class StatusBook {
  readonly statuses: ResourceStatus[] = [];
  reject(r: Res<unknown>, reason: string, code: string, problems: readonly string[], resolvedRefs = true): void {
    this.statuses.push({ kind: r.kind, namespace: r.kind === 'MeshConfig' ? undefined : nsOf(r), name: r.metadata?.name ?? '', accepted: false, resolvedRefs, reason, message: problems.join('; '), code });
  }
  accept(r: Res<unknown>, unresolved: readonly string[] = []): void {
    this.statuses.push({
      kind: r.kind, namespace: r.kind === 'MeshConfig' ? undefined : nsOf(r), name: r.metadata.name, accepted: true,
      resolvedRefs: unresolved.length === 0, reason: unresolved.length ? 'UnresolvedRefs' : 'Accepted', message: unresolved.join('; '),
      ...(unresolved.length ? { code: 'WEFT_ERR_MODEL_UNKNOWN_SERVICE' } : {}),
    });
  }
}

function meshOf(configs: Res<MeshConfigSpec>[], book: StatusBook): MeshSettings {
  const [first, ...rest] = [...configs].sort(byKey);
  for (const r of rest) book.reject(r, 'Conflict', 'WEFT_ERR_MODEL_DUPLICATE', [`only one MeshConfig may exist; ${first.metadata.name} is used`]);
  if (!first) return DEFAULT_MESH;
  book.accept(first);
  const s = first.spec;
  return { name: first.metadata.name, trustDomain: s.trustDomain, defaultMtlsMode: s.defaultMtlsMode, defaultInboundPolicy: s.defaultInboundPolicy, certificateTtlMs: parseDuration(s.certificateTtl, 'spec.certificateTtl'), rootNamespace: s.controlPlane.namespace,
    ...(s.maxRetryAmplification !== undefined ? { maxRetryAmplification: s.maxRetryAmplification } : {}) };
}

/** Problems that make a MeshService unusable (beyond its schema). */
function serviceProblems(spec: MeshServiceSpec): RouteProblem | undefined {
  const dup = (xs: readonly (string | number)[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
  const problems: string[] = [];
  for (const d of dup(spec.ports.map((p) => p.name))) problems.push(`spec.ports: port name ${JSON.stringify(d)} is used twice; names must be unique`);
  for (const d of dup(spec.ports.map((p) => p.port))) problems.push(`spec.ports: port ${d} is declared twice`);
  for (const d of dup(spec.versions.map((v) => v.name))) problems.push(`spec.versions: version ${JSON.stringify(d)} is declared twice`);
  if (problems.length) return { reason: 'InvalidSpec', code: 'WEFT_ERR_MODEL_DUPLICATE', problems };
  const reserved = spec.ports.filter((p) => RESERVED_PORT_LIST.includes(p.targetPort ?? p.port) || RESERVED_PORT_LIST.includes(p.port));
  if (reserved.length) {
    return { reason: 'InvalidSpec', code: 'WEFT_ERR_MODEL_RESERVED_PORT', problems: reserved.map((p) => `spec.ports[${p.name}]: port ${p.targetPort ?? p.port} is reserved for the sidecar (${RESERVED_PORT_LIST.join(', ')}); pick another`) };
  }
  const lb = spec.trafficPolicy?.loadBalancer;
  if (lb?.hash && lb.policy !== 'consistent-hash') {
    return { reason: 'InvalidSpec', code: 'WEFT_ERR_MODEL_CONTRADICTION', problems: [`spec.trafficPolicy.loadBalancer.hash: only used by policy "consistent-hash", but policy is ${JSON.stringify(lb.policy)}; remove hash or change the policy`] };
  }
  if (lb?.hash?.header && lb.hash.cookie) {
    return { reason: 'InvalidSpec', code: 'WEFT_ERR_MODEL_CONTRADICTION', problems: ['spec.trafficPolicy.loadBalancer.hash: set header or cookie, not both'] };
  }
  return undefined;
}

/** The service part of the model (routes filled in later). */
function serviceBase(r: Res<MeshServiceSpec>, mesh: MeshSettings): Omit<ServiceModel, 'routes' | 'mtlsModes' | 'calls'> {
  const s = r.spec;
  const ns = nsOf(r);
  const tp = s.trafficPolicy ?? {};
  const od = tp.outlierDetection;
  const path = 'spec.trafficPolicy';
  return {
    name: r.metadata.name,
    namespace: ns,
    serviceAccount: s.serviceAccount,
    identity: spiffeId(mesh.trustDomain, ns, s.serviceAccount),
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol })),
    versions: s.versions.map((v) => ({
      name: v.name, replicas: v.replicas,
      // Only what this version adds: a call the service declares for every version is not version-specific.
      ...((() => {
        const shared = new Set((s.calls ?? []).map((c) => keyOf(c.namespace ?? ns, c.name)));
        const own = (v.calls ?? []).map((c) => ({ name: c.name, namespace: c.namespace ?? ns })).filter((c) => !shared.has(keyOf(c.namespace, c.name)));
        return own.length ? { calls: own } : {};
      })()),
    })),
    ...(r.metadata.annotations?.[MESHED_ANNOTATION] === 'false' ? { meshed: false } : {}),
    ...(s.ingress ? { ingress: true } : {}),
    trafficPolicy: {
      loadBalancer: { policy: tp.loadBalancer?.policy ?? 'peak-ewma', hashHeader: tp.loadBalancer?.hash?.header, hashCookie: tp.loadBalancer?.hash?.cookie },
      retries: tp.retries ? retriesOf(tp.retries, `${path}.retries`) : undefined,
      timeoutMs: tp.timeout ? parseDuration(tp.timeout, `${path}.timeout`) : undefined,
      outlierDetection: od ? {
        consecutive5xx: od.consecutive5xx ?? (od.consecutiveGatewayErrors || od.successRate ? undefined : 5),
        consecutiveGatewayErrors: od.consecutiveGatewayErrors,
        intervalMs: od.interval ? parseDuration(od.interval) : 10_000,
        baseEjectionTimeMs: od.baseEjectionTime ? parseDuration(od.baseEjectionTime) : 30_000,
        maxEjectionPercent: od.maxEjectionPercent ?? 10,
        successRate: od.successRate,
      } : undefined,
      connectionLimits: { ...(tp.connectionLimits ?? {}) },
      rateLimit: tp.rateLimit ? { requestsPerSecond: tp.rateLimit.requestsPerSecond, burst: tp.rateLimit.burst ?? Math.max(1, Math.ceil(tp.rateLimit.requestsPerSecond)) } : undefined,
    },
  };
}

/**
 * Builds the mesh model. Never throws on bad input: each resource that fails its schema or names
 * something missing is rejected in `statuses` (with a `WEFT_ERR_*` code) and left out.
 */
export function buildModel(resources: readonly WeftResource<unknown>[], endpoints: readonly EndpointModel[]): BuildResult {
  const book = new StatusBook();
  const valid: Res<unknown>[] = [];
  for (const r of resources) {
    const problems = resourceProblems(r as never);
    if (!r?.metadata?.name) problems.push('metadata.name: is required');
    if (problems.length) book.reject(r ?? ({ kind: 'Unknown', metadata: { name: '' } } as never), 'InvalidSpec', 'WEFT_ERR_INVALID_CONFIG', problems);
    else valid.push(r);
  }
  const ofKind = <S>(k: string) => valid.filter((r) => r.kind === k).sort(byKey) as Res<S>[];
  const mesh = meshOf(ofKind<MeshConfigSpec>('MeshConfig'), book);

  // Services first: everything else refers to them.
  const svcRes = new Map<string, Res<MeshServiceSpec>>();
  const bases = new Map<string, Omit<ServiceModel, 'routes' | 'mtlsModes' | 'calls'>>();
  for (const r of ofKind<MeshServiceSpec>('MeshService')) {
    const key = keyOf(nsOf(r), r.metadata.name);
    if (svcRes.has(key)) { book.reject(r, 'Conflict', 'WEFT_ERR_MODEL_DUPLICATE', [`MeshService ${key} is defined twice`]); continue; }
    const bad = serviceProblems(r.spec);
    if (bad) { book.reject(r, bad.reason, bad.code, bad.problems); continue; }
    try {
      bases.set(key, serviceBase(r, mesh));
      svcRes.set(key, r);
    } catch (e) {
      book.reject(r, 'InvalidSpec', (e as { code?: string }).code ?? 'WEFT_ERR_INVALID_CONFIG', [(e as Error).message]);
    }
  }

  // Routes: CanaryRoute rules in (namespace/name) order, then the default route.
  const routes = new Map<string, RouteModel[]>();
  for (const r of ofKind<CanaryRouteSpec>('CanaryRoute')) {
    const target = keyOf(r.spec.service.namespace ?? nsOf(r), r.spec.service.name);
    const svc = bases.get(target);
    if (!svc) { book.reject(r, 'UnknownService', 'WEFT_ERR_MODEL_UNKNOWN_SERVICE', [`spec.service: MeshService ${target} does not exist (or was rejected)`], false); continue; }
    const built: RouteModel[] = [];
    let problem: RouteProblem | undefined;
    r.spec.routes.forEach((rule, i) => {
      if (problem) return;
      try {
        const res = buildRoute(r.metadata.name, r.spec.port, rule, i, svc);
        if ('problems' in res) problem = res; else built.push(res);
      } catch (e) {
        problem = { reason: 'InvalidSpec', code: (e as { code?: string }).code ?? 'WEFT_ERR_INVALID_CONFIG', problems: [(e as Error).message] };
      }
    });
    if (problem) { book.reject(r, problem.reason, problem.code, problem.problems, problem.reason !== 'UnknownVersion' && problem.reason !== 'UnknownPort'); continue; }
    routes.set(target, [...(routes.get(target) ?? []), ...built]);
    book.accept(r);
  }

  // Calls and services.
  const services: ServiceModel[] = [];
  const unresolvedCalls = new Map<string, string[]>();
  for (const [key, base] of bases) {
    const r = svcRes.get(key)!;
    const calls: { name: string; namespace: string }[] = [];
    // A version's own calls are calls of the service too: authorization and outbound scoping see them all.
    for (const c of [...(r.spec.calls ?? []), ...r.spec.versions.flatMap((v) => v.calls ?? [])]) {
      const ref = { name: c.name, namespace: c.namespace ?? base.namespace };
      if (calls.some((x) => x.name === ref.name && x.namespace === ref.namespace)) continue;
      if (bases.has(keyOf(ref.namespace, ref.name))) calls.push(ref);
      else unresolvedCalls.set(key, [...(unresolvedCalls.get(key) ?? []), `spec.calls: MeshService ${keyOf(ref.namespace, ref.name)} does not exist; the call is ignored`]);
    }
    const defaultRoute: RouteModel = {
      name: 'default', matches: [], backends: defaultBackends(base.versions),
      timeoutMs: base.trafficPolicy.timeoutMs, retries: base.trafficPolicy.retries,
    };
    services.push({ ...base, calls, routes: [...(routes.get(key) ?? []), defaultRoute], mtlsModes: {} });
  }

  // mTLS modes and authorization.
  const { policies, modes } = buildPolicies(ofKind<MtlsPolicySpec>('MtlsPolicy'), services, mesh, book);
  const finalServices = services.map((s) => ({ ...s, mtlsModes: modes.get(keyOf(s.namespace, s.name)) ?? {} }));
  for (const [key, r] of svcRes) book.accept(r, unresolvedCalls.get(key) ?? []);

  // Endpoints of accepted services and declared versions only; addresses must be IP literals.
  const eps = endpoints.filter((e) => {
    const svc = bases.get(keyOf(e.namespace, e.service));
    return svc !== undefined && svc.versions.some((v) => v.name === e.version) && isIP(e.address) !== 0;
  });

  const order = (a: ServiceModel, b: ServiceModel) => keyOf(a.namespace, a.name).localeCompare(keyOf(b.namespace, b.name));
  return { model: { mesh, services: finalServices.sort(order), endpoints: eps, policies }, statuses: book.statuses };
}
