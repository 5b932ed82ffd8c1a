/**
 * What a Kubernetes object points at by name (a pod's ServiceAccount, ConfigMaps and Secrets; a
 * binding's role and subjects; a webhook's Service), so the stack creates those first.
 */
import { KubeObject } from './objects';

/** A by-name reference: `group/Kind`, namespace ('' for cluster-scoped) and name. */
export interface ObjectRef {
  readonly groupKind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Kinds that run pods, and where their pod spec sits. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Pod: ['spec'],
};

/** Whether `kind` runs pods (a workload in the ordering sense). */
export function runsPods(kind: string): boolean {
  return Object.prototype.hasOwnProperty.call(POD_SPEC_PATHS, kind);
}

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function dig(o: unknown, path: readonly string[]): Loose | undefined {
  let cur: unknown = o;
  for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Loose)[p] : undefined;
  return cur && typeof cur === 'object' ? (cur as Loose) : undefined;
}

const list = (v: unknown): Loose[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);

function podRefs(pod: Loose, ns: string): ObjectRef[] {
  const out: ObjectRef[] = [];
  const cm = (name: unknown) => typeof name === 'string' && out.push({ groupKind: '/ConfigMap', namespace: ns, name });
  const secret = (name: unknown) => typeof name === 'string' && out.push({ groupKind: '/Secret', namespace: ns, name });
  if (typeof pod.serviceAccountName === 'string') out.push({ groupKind: '/ServiceAccount', namespace: ns, name: pod.serviceAccountName });
  for (const s of list(pod.imagePullSecrets)) secret(s.name);
  for (const v of list(pod.volumes)) {
    cm(v.configMap?.name);
    secret(v.secret?.secretName);
    for (const src of list(v.projected?.sources)) { cm(src.configMap?.name); secret(src.secret?.name); }
  }
  for (const c of [...list(pod.containers), ...list(pod.initContainers)]) {
    for (const f of list(c.envFrom)) { cm(f.configMapRef?.name); secret(f.secretRef?.name); }
    for (const e of list(c.env)) { cm(e.valueFrom?.configMapKeyRef?.name); secret(e.valueFrom?.secretKeyRef?.name); }
  }
  return out;
}

/** Every object `o` names, whether or not it is being deployed (the caller filters). */
export function referencesOf(o: KubeObject): ObjectRef[] {
  const ns = o.metadata.namespace ?? '';
  const podPath = POD_SPEC_PATHS[o.kind];
  if (podPath) {
    const pod = dig(o, podPath);
    return pod ? podRefs(pod, ns) : [];
  }
  if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
    const out: ObjectRef[] = [];
    const roleRef = dig(o, ['roleRef']);
    if (roleRef?.kind === 'Role') out.push({ groupKind: 'rbac.authorization.k8s.io/Role', namespace: ns, name: String(roleRef.name) });
    if (roleRef?.kind === 'ClusterRole') out.push({ groupKind: 'rbac.authorization.k8s.io/ClusterRole', namespace: '', name: String(roleRef.name) });
    for (const s of list(o.subjects)) {
      if (s.kind === 'ServiceAccount') out.push({ groupKind: '/ServiceAccount', namespace: String(s.namespace ?? ns), name: String(s.name) });
    }
    return out;
  }
  if (o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration') {
    return list(o.webhooks)
      .map((w) => w.clientConfig?.service)
      .filter((s) => s && typeof s.name === 'string')
      .map((s) => ({ groupKind: '/Service', namespace: String(s.namespace ?? ''), name: String(s.name) }));
  }
  return [];
}
