/**
 * Export a weft mesh to another mesh's resources: Istio, or Gateway API GAMMA routes with Istio as
 * the implementation behind them. Pure: the mesh model (or the synthesized manifests) in, plain
 * Kubernetes objects and coded warnings (what the target cannot express) out.
 */
import { buildModel } from '../build-model';
import { WeftError } from '../errors';
import type { MeshModel } from '../model';
import { API_VERSION, type WeftResource } from '../resources';
import { contextOf, EXPORT_TARGETS, EXPORT_UNSUPPORTED, type ExportOptions, type ExportResult, type ExportTarget, type ExportWarning, type KubeObject } from './common';
import { serviceRoutes, versionDestinationRules, versionServices } from './gateway-api';
import { destinationRule, virtualService } from './istio';
import { authorizationPolicies, peerAuthentications } from './security';

export * from './common';
export { versionServiceName } from './gateway-api';

/** Throws WEFT_ERR_EXPORT_TARGET unless `target` is one weft exports to. */
export function exportTargetOf(target: string): ExportTarget {
  if ((EXPORT_TARGETS as readonly string[]).includes(target)) return target as ExportTarget;
  throw new WeftError('WEFT_ERR_EXPORT_TARGET', `cannot export to ${JSON.stringify(target)}; use one of ${EXPORT_TARGETS.join(', ')}`);
}

/** The mesh model as `target` resources, with a warning for each thing the target cannot express. */
export function exportModel(model: MeshModel, target: ExportTarget, options: ExportOptions = {}): ExportResult {
  const ctx = contextOf(model, exportTargetOf(target), options);
  const objects: KubeObject[] = [];
  const services = [...model.services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  if (model.mesh.trustDomain !== 'cluster.local') {
    ctx.warn.add(`MeshConfig ${model.mesh.name}`, 'trustDomain', `principals keep weft's trust domain ${JSON.stringify(model.mesh.trustDomain)}; set Istio's meshConfig.trustDomain to it (or add it to trustDomainAliases)`);
  }
  for (const svc of services) {
    if (target === 'istio') objects.push(virtualService(ctx, svc), destinationRule(ctx, svc));
    else objects.push(...versionServices(ctx, svc), ...serviceRoutes(ctx, svc), ...versionDestinationRules(ctx, svc));
  }
  objects.push(...peerAuthentications(ctx), ...authorizationPolicies(ctx));
  return { target, objects, warnings: ctx.warn.list };
}

/**
 * The mesh of synthesized manifests (a `cdk8s synth` dist, or `chart.toJson()`) as `target`
 * resources. The weft custom resources give the mesh; each MeshService's Kubernetes Service gives
 * the pod selector the exported policies and version Services use.
 */
export function exportManifests(objects: readonly unknown[], target: ExportTarget, options: ExportOptions = {}): ExportResult {
  const weft = objects.filter((o) => (o as { apiVersion?: unknown })?.apiVersion === API_VERSION) as WeftResource<unknown>[];
  const { model, statuses } = buildModel(weft, []);
  const selectors = new Map<string, Readonly<Record<string, string>>>(options.selectors ?? []);
  for (const o of objects as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string }; spec?: { selector?: Record<string, string> } }[]) {
    if (o?.apiVersion !== 'v1' || o.kind !== 'Service' || !o.metadata?.name || !o.spec?.selector) continue;
    const k = `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
    if (!selectors.has(k)) selectors.set(k, o.spec.selector);
  }
  const result = exportModel(model, target, { ...options, selectors });
  // a resource the control plane would reject is not in the model: say so rather than drop it silently
  const rejected = statuses.filter((st) => !st.accepted).map((st): ExportWarning => ({
    code: EXPORT_UNSUPPORTED, target: result.target, resource: `${st.kind} ${st.namespace ? `${st.namespace}/` : ''}${st.name}`, field: '',
    message: `weft rejects this resource (${st.code ?? st.reason}: ${st.message}); it is not exported`,
  }));
  return { ...result, warnings: [...rejected, ...result.warnings] };
}
