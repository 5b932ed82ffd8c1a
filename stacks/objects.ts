/**
 * Plain Kubernetes objects as `cdk8s synth` emits them, and the few facts about them the stack
 * needs (identity, scope, namespace). No Pulumi here, so the ordering logic is testable alone.
 */
import { KINDS, GROUP } from '../api/resources';
import { STACK_ERRORS, WeftStackError } from './errors';

/** One synthesized Kubernetes object (a YAML document of `cdk8s synth`). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

/** Built-in kinds that live outside namespaces (`kubectl api-resources --namespaced=false`, the common ones). */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition',
  'StorageClass', 'PriorityClass', 'IngressClass', 'RuntimeClass', 'CSIDriver', 'APIService',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → `` for core). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `group/Kind` (core kinds have an empty group: `/Service`). */
export function groupKind(o: { apiVersion: string; kind: string }): string {
  return `${groupOf(o.apiVersion)}/${o.kind}`;
}

/** Checks the shape `cdk8s synth` guarantees; anything else is a caller bug, reported with its index. */
export function asKubeObject(value: unknown, index: number): KubeObject {
  const o = value as Partial<KubeObject> | null;
  const problems: string[] = [];
  if (typeof o !== 'object' || o === null) problems.push('is not an object');
  else {
    if (typeof o.apiVersion !== 'string' || !o.apiVersion) problems.push('apiVersion is missing');
    if (typeof o.kind !== 'string' || !o.kind) problems.push('kind is missing');
    if (typeof o.metadata?.name !== 'string' || !o.metadata.name) problems.push('metadata.name is missing (the stack keeps the synthesized names; set one)');
  }
  if (problems.length) {
    throw new WeftStackError(STACK_ERRORS.INVALID_OBJECT, `object #${index} ${problems.join(', ')}`);
  }
  return o as KubeObject;
}

/**
 * Whether `o` is cluster-scoped. Custom kinds are looked up in the CRDs being deployed, then in
 * weft's own kinds; an unknown kind counts as namespaced (as the API server's default is).
 */
export function isClusterScoped(o: KubeObject, crdScopes: ReadonlyMap<string, string>): boolean {
  const gk = groupKind(o);
  const crdScope = crdScopes.get(gk);
  if (crdScope) return crdScope === 'Cluster';
  if (groupOf(o.apiVersion) === GROUP) return (KINDS as Record<string, { scope: string }>)[o.kind]?.scope === 'Cluster';
  return CLUSTER_SCOPED.has(o.kind);
}

/** `group/Kind` → scope of every CRD in `objects`. */
export function crdScopes(objects: readonly KubeObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = o.spec as { group?: string; scope?: string; names?: { kind?: string } } | undefined;
    if (spec?.group && spec.names?.kind) out.set(`${spec.group}/${spec.names.kind}`, spec.scope ?? 'Namespaced');
  }
  return out;
}

/** The identity of an object in a plan: `group/Kind:namespace/name` (no namespace when cluster-scoped). */
export function objectId(o: KubeObject, clusterScoped: boolean): string {
  return clusterScoped ? `${groupKind(o)}:${o.metadata.name}` : `${groupKind(o)}:${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
