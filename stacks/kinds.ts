/**
 * From a synthesized object to a typed @pulumi/kubernetes resource. A small table instead of
 * `yaml.ConfigGroup`: v2 ConfigGroup is expanded by the provider (so mocks and previews without a
 * cluster see one opaque resource), and v1 cannot express dependencies between its own objects.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { KubeObject } from './objects';

/** A @pulumi/kubernetes resource class (every typed class has this constructor shape). */
type ResourceClass = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Typed classes by `apiVersion/kind`: the kinds weft's constructs and common add-ons emit. */
const TYPED: Readonly<Record<string, ResourceClass>> = {
  'v1/Namespace': k8s.core.v1.Namespace,
  'v1/ServiceAccount': k8s.core.v1.ServiceAccount,
  'v1/ConfigMap': k8s.core.v1.ConfigMap,
  'v1/Secret': k8s.core.v1.Secret,
  'v1/Service': k8s.core.v1.Service,
  'v1/Pod': k8s.core.v1.Pod,
  'apps/v1/Deployment': k8s.apps.v1.Deployment,
  'apps/v1/StatefulSet': k8s.apps.v1.StatefulSet,
  'apps/v1/DaemonSet': k8s.apps.v1.DaemonSet,
  'batch/v1/Job': k8s.batch.v1.Job,
  'batch/v1/CronJob': k8s.batch.v1.CronJob,
  'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': k8s.autoscaling.v2.HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networking.v1.NetworkPolicy,
  'rbac.authorization.k8s.io/v1/Role': k8s.rbac.v1.Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': k8s.rbac.v1.RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': k8s.rbac.v1.ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': k8s.rbac.v1.ClusterRoleBinding,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': k8s.apiextensions.v1.CustomResourceDefinition,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': k8s.admissionregistration.v1.MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': k8s.admissionregistration.v1.ValidatingWebhookConfiguration,
};

/** Whether `o` maps to a typed class (otherwise it becomes a generic `CustomResource`). */
export function isTypedKind(o: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return Object.prototype.hasOwnProperty.call(TYPED, `${o.apiVersion}/${o.kind}`);
}

/**
 * The Pulumi type token a resource for `o` registers under, e.g. `kubernetes:apps/v1:Deployment`,
 * `kubernetes:core/v1:Service`, `kubernetes:weft.dev/v1alpha1:MeshService`.
 */
export function typeTokenOf(o: Pick<KubeObject, 'apiVersion' | 'kind'>): string {
  const apiVersion = o.apiVersion.includes('/') ? o.apiVersion : `core/${o.apiVersion}`;
  return `kubernetes:${apiVersion}:${o.kind}`;
}

/**
 * Creates the resource for `o`. The object goes in whole: typed classes take its fields (and set
 * apiVersion/kind themselves); anything else (weft's own kinds, unknown CRDs) is a CustomResource.
 * Secret `data`/`stringData` are wrapped with `pulumi.secret` by the typed Secret class.
 */
export function createResource(name: string, o: KubeObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const Typed = TYPED[`${o.apiVersion}/${o.kind}`];
  if (Typed) return new Typed(name, o, opts);
  return new k8s.apiextensions.CustomResource(name, o as unknown as k8s.apiextensions.CustomResourceArgs, opts);
}
