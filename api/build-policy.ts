/**
 * MtlsPolicy resources (+ declared `calls`) → per-port mTLS modes and per-service authorization
 * rules. Scope precedence is port > service > namespace > mesh; an unresolvable rule fails closed.
 */
import type { MeshSettings, PolicyModel, PolicyPeerModel, PolicyRuleModel, ServiceModel } from './model';
import { spiffeId } from './names';
import type { MtlsModeName, MtlsPolicySpec, WeftResource } from './resources';
import type { StatusBook } from './build-model';

const DEFAULT_NS = 'default';
/** Marks a mesh-wide policy's scope (no namespace can be named this: it is not a DNS label). */
const MESH_WIDE = '*mesh*';

/** Principal no workload can hold: what an unresolvable ALLOW source turns into (fail closed). */
export const UNRESOLVED_PRINCIPAL_PREFIX = 'weft-unresolved:';

interface Scoped {
  readonly r: WeftResource<MtlsPolicySpec>;
  readonly namespace: string;
  readonly service?: string;
  readonly port?: number;
}

/** Builds authorization policies (one per service) and the effective mTLS mode of every service port. */
export function buildPolicies(
  resources: readonly WeftResource<MtlsPolicySpec>[],
  services: readonly ServiceModel[],
  mesh: MeshSettings,
  book: StatusBook,
): { policies: PolicyModel[]; modes: Map<string, Record<number, MtlsModeName>> } {
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const svcByKey = new Map(services.map((s) => [key(s.namespace, s.name), s]));
  const rules = new Map<string, PolicyRuleModel[]>(services.map((s) => [key(s.namespace, s.name), []]));
  const scoped: Scoped[] = [];

  for (const r of resources) {
    const pns = r.metadata.namespace ?? DEFAULT_NS;
    const { service, port } = r.spec.scope ?? {};
    // A policy in the root namespace with no namespace/service scope is mesh-wide (Istio's rule).
    const meshWide = pns === mesh.rootNamespace && r.spec.scope?.namespace === undefined && service === undefined;
    const ns = r.spec.scope?.namespace ?? pns;
    if (port !== undefined && service === undefined) {
      book.reject(r, 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION', ['spec.scope.port: a port scope needs spec.scope.service (ports belong to a service)']);
      continue;
    }
    if (service !== undefined && !svcByKey.has(key(ns, service))) {
      book.reject(r, 'UnknownService', 'WEFT_ERR_MODEL_UNKNOWN_SERVICE', [`spec.scope.service: MeshService ${key(ns, service)} does not exist (or was rejected)`], false);
      continue;
    }
    if (port !== undefined && !svcByKey.get(key(ns, service!))!.ports.some((p) => p.port === port || p.targetPort === port)) {
      book.reject(r, 'UnknownPort', 'WEFT_ERR_MODEL_UNKNOWN_PORT', [`spec.scope.port: service ${key(ns, service!)} has no port ${port}`], false);
      continue;
    }
    const unresolved: string[] = [];
    const targets = meshWide ? services : services.filter((s) => s.namespace === ns && (service === undefined || s.name === service));
    (r.spec.rules ?? []).forEach((rule, i) => {
      const from: PolicyPeerModel[] = (rule.from ?? []).map((src, j) => {
        const principals = [...(src.principals ?? [])];
        for (const sa of src.serviceAccounts ?? []) {
          const [a, b] = sa.includes('/') ? sa.split('/', 2) : [pns, sa];
          principals.push(spiffeId(mesh.trustDomain, a, b));
        }
        let anyUnresolved = false;
        for (const ref of src.services ?? []) {
          const s = svcByKey.get(key(ref.namespace ?? pns, ref.name));
          if (s) principals.push(s.identity);
          else {
            anyUnresolved = true;
            unresolved.push(`spec.rules[${i}].from[${j}].services: MeshService ${key(ref.namespace ?? pns, ref.name)} does not exist`);
            principals.push(`${UNRESOLVED_PRINCIPAL_PREFIX}${key(ref.namespace ?? pns, ref.name)}`);
          }
        }
        // A DENY that names someone unknown fails closed by denying that source position to everyone.
        if (anyUnresolved && rule.action === 'DENY') return { principals: [], namespaces: [] };
        return { principals, namespaces: [...(src.namespaces ?? [])] };
      });
      const to = (rule.to ?? [{}]).map((t) => ({
        paths: [...(t.paths ?? [])],
        methods: [...(t.methods ?? [])],
        ports: t.ports?.length ? [...t.ports] : port !== undefined ? [port] : [],
      }));
      const model: PolicyRuleModel = {
        id: `${pns}/${r.metadata.name}#${rule.name ?? i}`,
        action: rule.action,
        from,
        to: to.every((t) => !t.paths.length && !t.methods.length && !t.ports.length) ? [] : to,
      };
      for (const t of targets) rules.get(key(t.namespace, t.name))!.push(model);
    });
    if (r.spec.mode) scoped.push({ r, namespace: meshWide ? MESH_WIDE : ns, service, port });
    book.accept(r, unresolved);
  }

  // Declared calls become ALLOW rules when the mesh denies by default (Linkerd-style authorization).
  if (mesh.defaultInboundPolicy === 'deny') {
    for (const caller of services) {
      for (const c of caller.calls) {
        rules.get(key(c.namespace, c.name))?.push({
          id: `${c.namespace}/calls#${caller.namespace}.${caller.name}`,
          action: 'ALLOW',
          from: [{ principals: [caller.identity], namespaces: [] }],
          to: [],
        });
      }
    }
  }

  const modes = new Map<string, Record<number, MtlsModeName>>();
  for (const s of services) {
    const m: Record<number, MtlsModeName> = {};
    const mine = scoped.filter((x) => x.namespace === s.namespace && (x.service === undefined || x.service === s.name));
    const meshWideMode = scoped.find((x) => x.namespace === MESH_WIDE)?.r.spec.mode;
    for (const p of s.ports) {
      const pick = mine.find((x) => x.service === s.name && (x.port === p.port || x.port === p.targetPort))
        ?? mine.find((x) => x.service === s.name && x.port === undefined)
        ?? mine.find((x) => x.service === undefined);
      m[p.port] = pick?.r.spec.mode ?? meshWideMode ?? mesh.defaultMtlsMode;
    }
    modes.set(key(s.namespace, s.name), m);
  }
  const policies = services.map((s) => ({ service: s.name, namespace: s.namespace, rules: rules.get(key(s.namespace, s.name))! }));
  return { policies, modes };
}
