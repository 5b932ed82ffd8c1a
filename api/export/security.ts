/**
 * weft's authorization and mTLS as Istio security resources (security.istio.io/v1), used by both
 * targets: Istio itself, and Istio as the GAMMA implementation behind the Gateway API routes.
 */
import type { PolicyRuleModel, ServiceModel } from '../model';
import { type ExportContext, type KubeObject, istioPrincipal, targetPortOf } from './common';

const SECURITY = 'security.istio.io/v1';

function ruleOf(svc: ServiceModel, r: PolicyRuleModel): Record<string, unknown> {
  // An empty source or operation matches anything in weft; Istio says that by leaving `from`/`to` out.
  const anySource = r.from.length === 0 || r.from.some((f) => f.principals.length === 0 && f.namespaces.length === 0);
  const anyOperation = r.to.length === 0 || r.to.some((t) => t.paths.length === 0 && t.methods.length === 0 && t.ports.length === 0);
  const from = anySource ? [] : r.from.map((f) => ({
    source: {
      ...(f.principals.length ? { principals: f.principals.map(istioPrincipal) } : {}),
      ...(f.namespaces.length ? { namespaces: [...f.namespaces] } : {}),
    },
  }));
  const to = anyOperation ? [] : r.to.map((t) => ({
    operation: {
      ...(t.paths.length ? { paths: [...t.paths] } : {}),
      ...(t.methods.length ? { methods: [...t.methods] } : {}),
      // weft policy ports are service ports; Istio matches the workload (target) port
      ...(t.ports.length ? { ports: t.ports.map((p) => String(targetPortOf(svc, p))) } : {}),
    },
  }));
  return { ...(from.length ? { from } : {}), ...(to.length ? { to } : {}) };
}

/** One AuthorizationPolicy per service and action (Istio has one action per policy), plus the mesh default. */
export function authorizationPolicies(ctx: ExportContext): KubeObject[] {
  const out: KubeObject[] = [];
  if (ctx.model.mesh.defaultInboundPolicy === 'deny') {
    // Istio's "allow-nothing": an ALLOW policy without rules in the root namespace applies to every workload.
    out.push({ apiVersion: SECURITY, kind: 'AuthorizationPolicy', metadata: { name: 'weft-default-deny', namespace: ctx.rootNamespace }, spec: {} });
  }
  for (const svc of ctx.model.services) {
    const rules = ctx.model.policies.filter((p) => p.service === svc.name && p.namespace === svc.namespace).flatMap((p) => p.rules);
    for (const action of ['DENY', 'ALLOW', 'AUDIT'] as const) {
      const mine = rules.filter((r) => r.action === action);
      if (!mine.length) continue;
      if (action === 'AUDIT') {
        ctx.warn.add(`MtlsPolicy ${mine[0].id.split('#')[0]}`, 'rules[].action', 'AUDIT rules are exported as an Istio AUDIT AuthorizationPolicy, which records nothing until an audit provider is configured');
      }
      out.push({
        apiVersion: SECURITY,
        kind: 'AuthorizationPolicy',
        metadata: { name: `${svc.name}-${action.toLowerCase()}`, namespace: svc.namespace },
        spec: { selector: { matchLabels: { ...ctx.selector(svc) } }, action, rules: mine.map((r) => ruleOf(svc, r)) },
      });
    }
  }
  return out;
}

/** The mesh-wide mTLS mode, and one PeerAuthentication per service whose ports differ from it. */
export function peerAuthentications(ctx: ExportContext): KubeObject[] {
  const mesh = ctx.model.mesh.defaultMtlsMode;
  const out: KubeObject[] = [{ apiVersion: SECURITY, kind: 'PeerAuthentication', metadata: { name: 'default', namespace: ctx.rootNamespace }, spec: { mtls: { mode: mesh } } }];
  for (const svc of ctx.model.services) {
    const modes = svc.ports.map((p) => {
      const mode = svc.mtlsModes[p.port] ?? mesh;
      if (p.protocol !== 'tcp') return { port: p, mode };
      // weft's sidecar takes opaque TCP only over mTLS, so a PERMISSIVE tcp port is STRICT in effect
      if (mode === 'DISABLE') ctx.warn.add(`MeshService ${svc.namespace}/${svc.name}`, `ports.${p.name}`, 'weft refuses every connection to a tcp port whose mTLS is DISABLE (opaque TCP needs mTLS); Istio accepts plaintext there');
      return { port: p, mode: mode === 'PERMISSIVE' ? 'STRICT' : mode };
    });
    if (modes.every((m) => m.mode === mesh)) continue;
    const count = new Map<string, number>();
    for (const m of modes) count.set(m.mode, (count.get(m.mode) ?? 0) + 1);
    const main = [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
    const portLevel = modes.filter((m) => m.mode !== main);
    out.push({
      apiVersion: SECURITY,
      kind: 'PeerAuthentication',
      metadata: { name: svc.name, namespace: svc.namespace },
      spec: {
        selector: { matchLabels: { ...ctx.selector(svc) } },
        mtls: { mode: main },
        // Istio keys port-level modes by the workload (target) port
        ...(portLevel.length ? { portLevelMtls: Object.fromEntries(portLevel.map((m) => [String(m.port.targetPort), { mode: m.mode }])) } : {}),
      },
    });
  }
  return out;
}
