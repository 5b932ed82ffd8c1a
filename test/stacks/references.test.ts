/** By-name references a pod template, binding or webhook makes: what the plan orders before it. */
import { referencesOf, runsPods } from '../../stacks/references';
import { KubeObject } from '../../stacks/objects';

const names = (o: unknown) => referencesOf(o as KubeObject).map((r) => `${r.groupKind}:${r.namespace}/${r.name}`).sort();

test('a CronJob pod template: SA, pull secret, volumes, projected sources, envFrom and env refs', () => {
  const pod = {
    serviceAccountName: 'sa',
    imagePullSecrets: [{ name: 'pull' }],
    volumes: [
      { name: 'a', configMap: { name: 'cm-vol' } },
      { name: 'b', secret: { secretName: 'sec-vol' } },
      { name: 'c', projected: { sources: [{ configMap: { name: 'cm-proj' } }, { secret: { name: 'sec-proj' } }, { serviceAccountToken: { audience: 'weft' } }] } },
      { name: 'd', emptyDir: {} },
    ],
    initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'cm-from' } }] }],
    containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'sec-from' } }], env: [
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'cm-key', key: 'k' } } },
      { name: 'Y', valueFrom: { secretKeyRef: { name: 'sec-key', key: 'k' } } },
      { name: 'Z', value: 'plain' },
    ] }],
  };
  const cronJob = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'j', namespace: 'ns' }, spec: { jobTemplate: { spec: { template: { spec: pod } } } } };
  expect(runsPods('CronJob')).toBe(true);
  expect(names(cronJob)).toEqual([
    '/ConfigMap:ns/cm-from', '/ConfigMap:ns/cm-key', '/ConfigMap:ns/cm-proj', '/ConfigMap:ns/cm-vol',
    '/Secret:ns/pull', '/Secret:ns/sec-from', '/Secret:ns/sec-key', '/Secret:ns/sec-proj', '/Secret:ns/sec-vol',
    '/ServiceAccount:ns/sa',
  ]);
});

test('bindings name their role and ServiceAccount subjects; other subjects and kinds name nothing', () => {
  const crb = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' },
    roleRef: { kind: 'ClusterRole', name: 'r' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'x' }, { kind: 'User', name: 'alice' }],
  };
  expect(names(crb)).toEqual(['/ServiceAccount:x/sa', 'rbac.authorization.k8s.io/ClusterRole:/r']);
  expect(names({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: {} })).toEqual([]);
  expect(runsPods('Service')).toBe(false);
});
