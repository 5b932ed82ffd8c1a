/**
 * Independent readers of exported objects, for round-trip tests: "may A call B?" answered the way
 * Istio evaluates PeerAuthentication and AuthorizationPolicy, and the canary weights read back from
 * a VirtualService or from GAMMA routes. They share no code with api/export or api/authz.
 */

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: any };

/** A workload as the reader needs it (facts of the deployment, not of any policy). */
export interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Istio principal: `<trust domain>/ns/<ns>/sa/<sa>`. */
  readonly principal: string;
  readonly ports: readonly { readonly port: number; readonly targetPort: number; readonly protocol: string }[];
}

/** One question: caller (or plaintext), destination service port, method and path. */
export interface Question {
  readonly from: Workload | 'unmeshed';
  readonly to: Workload;
  readonly port: number;
  readonly method: string;
  readonly path: string;
}

const selects = (sel: Record<string, string> | undefined, labels: Readonly<Record<string, string>>): boolean =>
  !sel || Object.entries(sel).every(([k, v]) => labels[k] === v);

/** Istio string match: `*`, `prefix*`, `*suffix` or exact. */
function istioMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** The objects of `kind` that apply to workload `w` (root-namespace ones without selector apply to all). */
function applying(objects: readonly Obj[], kind: string, w: Workload, rootNamespace: string): Obj[] {
  return objects.filter((o) => o.kind === kind && (
    (o.metadata.namespace === w.namespace && selects(o.spec?.selector?.matchLabels, w.labels)) ||
    (o.metadata.namespace === rootNamespace && !o.spec?.selector)
  ));
}

/** Istio's effective mTLS mode of a workload port: workload policy (port level first), namespace, root. */
export function istioMtlsMode(objects: readonly Obj[], w: Workload, targetPort: number, rootNamespace = 'istio-system'): string {
  const pas = objects.filter((o) => o.kind === 'PeerAuthentication');
  const workload = pas.find((o) => o.metadata.namespace === w.namespace && o.spec?.selector && selects(o.spec.selector.matchLabels, w.labels));
  const namespace = pas.find((o) => o.metadata.namespace === w.namespace && !o.spec?.selector);
  const root = pas.find((o) => o.metadata.namespace === rootNamespace && !o.spec?.selector);
  const port = workload?.spec?.portLevelMtls?.[String(targetPort)]?.mode;
  for (const m of [port, workload?.spec?.mtls?.mode, namespace?.spec?.mtls?.mode, root?.spec?.mtls?.mode]) if (m && m !== 'UNSET') return m;
  return 'PERMISSIVE';
}

/** Does one AuthorizationPolicy rule match? For TCP, Istio's L4 reading: HTTP-only fields never match in ALLOW, are dropped in DENY. */
function ruleMatches(rule: any, action: string, principal: string | undefined, q: Question, targetPort: number, tcp: boolean): boolean {
  const froms: any[] = rule.from ?? [];
  const fromOk = froms.length === 0 || froms.some((f) => {
    const s = f.source ?? {};
    const ns = principal ? /\/ns\/([^/]+)\//.exec(principal)?.[1] : undefined;
    return (!s.principals || s.principals.some((p: string) => istioMatch(p, principal))) &&
      (!s.namespaces || s.namespaces.some((p: string) => istioMatch(p, ns)));
  });
  const tos: any[] = rule.to ?? [];
  const toOk = tos.length === 0 || tos.some((t) => {
    const op = t.operation ?? {};
    if (tcp && (op.paths || op.methods) && action === 'ALLOW') return false;
    const portsOk = !op.ports || op.ports.includes(String(targetPort));
    if (tcp) return portsOk;
    return portsOk && (!op.paths || op.paths.some((p: string) => istioMatch(p, q.path))) && (!op.methods || op.methods.includes(q.method));
  });
  return fromOk && toOk;
}

/** Whether Istio, given `objects`, lets the request of `q` through. */
export function istioMayCall(objects: readonly Obj[], q: Question, rootNamespace = 'istio-system'): boolean {
  const port = q.to.ports.find((p) => p.port === q.port);
  if (!port) throw new Error(`no port ${q.port} on ${q.to.name}`);
  const mode = istioMtlsMode(objects, q.to, port.targetPort, rootNamespace);
  const principal = q.from === 'unmeshed' || mode === 'DISABLE' ? undefined : q.from.principal;
  if (principal === undefined && mode === 'STRICT') return false;
  const tcp = port.protocol === 'tcp';
  const policies = applying(objects, 'AuthorizationPolicy', q.to, rootNamespace);
  const matches = (action: string) => policies.filter((p) => (p.spec?.action ?? 'ALLOW') === action).some((p) => (p.spec?.rules ?? []).some((r: any) => ruleMatches(r, action, principal, q, port.targetPort, tcp)));
  if (matches('DENY')) return false;
  const allows = policies.filter((p) => (p.spec?.action ?? 'ALLOW') === 'ALLOW');
  if (!allows.length) return true;
  return matches('ALLOW');
}

/** Weights per HTTP route of a VirtualService, in order: `{ subset: weight }`; routes without `route` skipped. */
export function istioRouteWeights(objects: readonly Obj[], name: string, namespace: string): Record<string, number>[] {
  const vs = objects.find((o) => o.kind === 'VirtualService' && o.metadata.name === name && o.metadata.namespace === namespace);
  if (!vs) throw new Error(`no VirtualService ${namespace}/${name}`);
  return (vs.spec.http ?? []).filter((r: any) => r.route).map((r: any) => Object.fromEntries(r.route.map((d: any) => [d.destination.subset, d.weight ?? 100])));
}

/**
 * Weights per rule of the GAMMA routes parented by Service `name` (one list per route object, by
 * port): backend Services are read back to their `version` selector.
 */
export function gatewayRouteWeights(objects: readonly Obj[], name: string, namespace: string): Map<number, Record<string, number>[]> {
  const out = new Map<number, Record<string, number>[]>();
  const versionOf = (svc: string) => {
    const s = objects.find((o) => o.kind === 'Service' && o.metadata.name === svc && o.metadata.namespace === namespace);
    if (!s?.spec?.selector?.version) throw new Error(`backend ${svc} is not a version Service`);
    return s.spec.selector.version as string;
  };
  for (const r of objects.filter((o) => (o.kind === 'HTTPRoute' || o.kind === 'GRPCRoute') && o.metadata.namespace === namespace)) {
    for (const p of r.spec.parentRefs ?? []) {
      if (p.kind !== 'Service' || p.name !== name) continue;
      out.set(p.port, (r.spec.rules ?? []).filter((rule: any) => rule.backendRefs?.length).map((rule: any) => Object.fromEntries(rule.backendRefs.map((b: any) => [versionOf(b.name), b.weight ?? 1]))));
    }
  }
  return out;
}
