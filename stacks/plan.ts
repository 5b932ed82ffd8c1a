/**
 * The deployment plan: which synthesized object must exist before which. `kubectl apply` and
 * `cdk8s synth` leave ordering to retries; a Pulumi program states it, so `pulumi up` creates CRDs
 * before custom resources, namespaces before their contents and the control plane before workloads.
 */
import { GROUP } from '../api/resources';
import { STACK_ERRORS, WeftStackError } from './errors';
import { KubeObject, asKubeObject, crdScopes, groupKind, groupOf, isClusterScoped, objectId } from './objects';
import { referencesOf, runsPods } from './references';
import { assertNoKeyMaterial } from './secrets';
import { DeclaredDependency, ObjectIdentity } from './synth';

/** Why an object sits where it does in the order; listed in creation order. */
export const ROLES = ['crd', 'namespace', 'cluster', 'control-plane', 'custom-resource', 'config', 'workload'] as const;
/** The role of one object in the plan. */
export type Role = (typeof ROLES)[number];

/** One object to create, with the ids of the objects that must exist first. */
export interface PlanStep {
  /** `group/Kind:namespace/name` (`group/Kind:name` when cluster-scoped); unique in a plan. */
  readonly id: string;
  readonly object: KubeObject;
  readonly role: Role;
  readonly clusterScoped: boolean;
  /** Ids of earlier steps this one waits for (direct edges only). */
  readonly dependsOn: readonly string[];
}

/** Options of {@link planObjects}. */
export interface PlanOptions {
  /**
   * Recognizes the control plane's objects (its Deployment, Service, ServiceAccount, RBAC, config).
   * @default {@link isWeftControlPlane}
   */
  readonly isControlPlane?: (o: KubeObject) => boolean;
  /**
   * Dependencies the constructs declared (`node.addDependency`), kept on top of the inferred ones.
   * @default []
   */
  readonly declared?: readonly DeclaredDependency[];
}

/** Name the `Mesh` construct gives every control-plane object (Deployment, Service, RBAC, PDB). */
export const CONTROL_PLANE_NAME = 'weft-control-plane';

/**
 * The default control-plane test: labelled `app.kubernetes.io/component: control-plane`, or a
 * weft object (`app.kubernetes.io/part-of: weft`) named `weft-control-plane` as `Mesh` emits them.
 */
export function isWeftControlPlane(o: KubeObject): boolean {
  const labels = o.metadata.labels ?? {};
  return labels['app.kubernetes.io/component'] === 'control-plane' ||
    (labels['app.kubernetes.io/part-of'] === 'weft' &&
      // the cluster-scoped RBAC is named per mesh: `weft-control-plane-<namespace>`
      (o.metadata.name === CONTROL_PLANE_NAME || o.metadata.name.startsWith(`${CONTROL_PLANE_NAME}-`)));
}

function roleOf(o: KubeObject, clusterScoped: boolean, isCustom: boolean, isControlPlane: (o: KubeObject) => boolean): Role {
  if (o.kind === 'CustomResourceDefinition') return 'crd';
  if (o.kind === 'Namespace' && groupOf(o.apiVersion) === '') return 'namespace';
  if (isControlPlane(o)) return 'control-plane';
  if (isCustom) return 'custom-resource';
  if (runsPods(o.kind)) return 'workload';
  return clusterScoped ? 'cluster' : 'config';
}

/**
 * Orders synthesized objects for creation and records each one's direct dependencies:
 * CRD → custom resources of its kind; Namespace → everything in it; control-plane Deployment and
 * Service → every other workload; a pod's ServiceAccount/ConfigMaps/Secrets → the pod's owner;
 * Role/ClusterRole and subject ServiceAccounts → bindings; Service → webhooks that call it; and
 * whatever the constructs declared.
 * Within those constraints, objects keep role order and then their synthesized order.
 * @throws WeftStackError on malformed or duplicate objects, key material in a Secret, or a cycle.
 */
export function planObjects(input: readonly unknown[], options: PlanOptions = {}): PlanStep[] {
  const isControlPlane = options.isControlPlane ?? isWeftControlPlane;
  const objects = input.map(asKubeObject);
  objects.forEach(assertNoKeyMaterial);
  const scopes = crdScopes(objects);

  const byId = new Map<string, { step: Omit<PlanStep, 'dependsOn'>; index: number }>();
  objects.forEach((object, index) => {
    const clusterScoped = isClusterScoped(object, scopes);
    const id = objectId(object, clusterScoped);
    if (byId.has(id)) throw new WeftStackError(STACK_ERRORS.DUPLICATE_OBJECT, `${id} is synthesized twice (objects #${byId.get(id)!.index} and #${index}); give one a different name`);
    const isCustom = scopes.has(groupKind(object)) || groupOf(object.apiVersion) === GROUP;
    byId.set(id, { step: { id, object, role: roleOf(object, clusterScoped, isCustom, isControlPlane), clusterScoped }, index });
  });

  const entries = [...byId.values()];
  const controlPlaneRunners = entries
    .filter(({ step }) => step.role === 'control-plane' && (runsPods(step.object.kind) || step.object.kind === 'Service'))
    .map(({ step }) => step.id);

  const deps = new Map<string, string[]>();
  for (const { step } of entries) {
    const o = step.object;
    const out = new Set<string>();
    const add = (id: string) => { if (id !== step.id && byId.has(id)) out.add(id); };
    if (!step.clusterScoped && o.metadata.namespace) add(`/Namespace:${o.metadata.namespace}`);
    if (step.role === 'custom-resource') {
      for (const crd of entries) {
        const spec = crd.step.object.spec as { group?: string; names?: { kind?: string } } | undefined;
        if (crd.step.role === 'crd' && `${spec?.group}/${spec?.names?.kind}` === groupKind(o)) add(crd.step.id);
      }
    }
    if (step.role === 'workload') controlPlaneRunners.forEach(add);
    for (const ref of referencesOf(o)) add(ref.namespace ? `${ref.groupKind}:${ref.namespace}/${ref.name}` : `${ref.groupKind}:${ref.name}`);
    deps.set(step.id, [...out]);
  }
  const idOf = (ref: ObjectIdentity) => {
    const o = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } };
    return objectId(o, isClusterScoped(o, scopes));
  };
  for (const { dependent, dependency } of options.declared ?? []) {
    const [from, to] = [idOf(dependent), idOf(dependency)];
    const list = deps.get(from);
    if (list && byId.has(to) && from !== to && !list.includes(to)) list.push(to);
  }
  return topoSort(entries, deps);
}

/** Kahn's algorithm; among ready steps the lowest (role, synthesized index) goes first, so output is stable. */
function topoSort(entries: { step: Omit<PlanStep, 'dependsOn'>; index: number }[], deps: Map<string, string[]>): PlanStep[] {
  const rank = (e: { step: { role: Role }; index: number }) => ROLES.indexOf(e.step.role) * 1e6 + e.index;
  const waiting = new Map(entries.map((e) => [e.step.id, new Set(deps.get(e.step.id))]));
  const done = new Set<string>();
  const out: PlanStep[] = [];
  while (out.length < entries.length) {
    const ready = entries.filter((e) => !done.has(e.step.id) && [...waiting.get(e.step.id)!].every((d) => done.has(d)));
    if (!ready.length) {
      const stuck = entries.filter((e) => !done.has(e.step.id)).map((e) => `${e.step.id} → ${[...waiting.get(e.step.id)!].filter((d) => !done.has(d)).join(', ')}`);
      throw new WeftStackError(STACK_ERRORS.DEPENDENCY_CYCLE, `no creation order exists; these objects wait on each other: ${stuck.join('; ')}`);
    }
    const next = ready.reduce((a, b) => (rank(b) < rank(a) ? b : a));
    done.add(next.step.id);
    out.push({ ...next.step, dependsOn: deps.get(next.step.id)! });
  }
  return out;
}
