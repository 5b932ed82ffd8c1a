/**
 * A hand-written mesh of plain cdk8s ApiObjects shaped like what the constructs emit (CRDs, a
 * control plane, a MeshService, a sidecar-injected workload), so the component is tested on its
 * own; the bookinfo tests cover the real constructs.
 */
import { ApiObject, Chart } from 'cdk8s';
import { allCrds } from '../../api/crds';

const CP = { 'app.kubernetes.io/component': 'control-plane', 'app.kubernetes.io/part-of': 'weft' };

/** Options that make the fixture malformed on purpose. */
export interface FixtureOptions {
  readonly extraSecret?: Record<string, unknown>;
  readonly duplicate?: boolean;
  /** Declares (with addDependency) Service reviews → MeshService reviews ('extra') or Namespace shop → Deployment reviews-v1 ('cycle'). */
  readonly declare?: 'extra' | 'cycle';
}

/** Builds the fixture mesh into `chart`. Objects are added in a deliberately unhelpful order. */
export function buildFixture(chart: Chart, opts: FixtureOptions = {}): void {
  const obj = (id: string, props: Record<string, unknown>) => new ApiObject(chart, id, props as never);
  // Workloads first, CRDs last: the plan must reorder them.
  const deploy = obj('reviews-v1', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'reviews-v1', namespace: 'shop' },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'reviews', version: 'v1' } },
      template: {
        metadata: { labels: { app: 'reviews', version: 'v1' } },
        spec: {
          serviceAccountName: 'reviews',
          initContainers: [{ name: 'weft-proxy', image: 'ghcr.io/weft/proxy:0.1.0', restartPolicy: 'Always', volumeMounts: [{ name: 'weft-bootstrap', mountPath: '/etc/weft' }] }],
          containers: [{ name: 'app', image: 'reviews:1' }],
          volumes: [{ name: 'weft-bootstrap', configMap: { name: 'reviews-v1-weft-bootstrap' } }],
        },
      },
    },
  });
  const svc = obj('reviews-svc', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'shop' }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] } });
  obj('reviews-sa', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reviews', namespace: 'shop' } });
  obj('reviews-bootstrap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'reviews-v1-weft-bootstrap', namespace: 'shop' }, data: { 'bootstrap.json': '{"node":{"service":"reviews"}}' } });
  const ms = obj('reviews-ms', {
    apiVersion: 'weft.dev/v1alpha1', kind: 'MeshService', metadata: { name: 'reviews', namespace: 'shop' },
    spec: { ports: [{ name: 'http', port: 9080, protocol: 'http' }], versions: [{ name: 'v1' }] },
  });
  // A workload modelled outside the mesh: a MeshService, but not a meshed one.
  obj('legacy-ms', {
    apiVersion: 'weft.dev/v1alpha1', kind: 'MeshService', metadata: { name: 'legacy', namespace: 'shop', annotations: { 'weft.dev/meshed': 'false' } },
    spec: { ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1' }] },
  });
  obj('mesh-config', { apiVersion: 'weft.dev/v1alpha1', kind: 'MeshConfig', metadata: { name: 'default' }, spec: { trustDomain: 'cluster.local' } });
  obj('cp-deploy', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'weft-control-plane', namespace: 'weft-system', labels: CP },
    spec: {
      selector: { matchLabels: { app: 'weft-control-plane' } },
      template: { metadata: { labels: { app: 'weft-control-plane' } }, spec: { serviceAccountName: 'weft-control-plane', containers: [{ name: 'control-plane', image: 'ghcr.io/weft/control-plane:0.1.0' }] } },
    },
  });
  obj('cp-svc', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'weft-control-plane', namespace: 'weft-system', labels: CP }, spec: { selector: { app: 'weft-control-plane' }, ports: [{ name: 'metrics', port: 9090 }, { name: 'grpc-xds', port: 15010 }] } });
  obj('cp-sa', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'weft-control-plane', namespace: 'weft-system', labels: CP } });
  obj('cp-role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'weft-ca', namespace: 'weft-system', labels: CP }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] }] });
  obj('cp-rb', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'weft-ca', namespace: 'weft-system', labels: CP },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'weft-ca' },
    subjects: [{ kind: 'ServiceAccount', name: 'weft-control-plane', namespace: 'weft-system' }],
  });
  const ns = obj('ns-shop', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  obj('ns-system', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'weft-system' } });
  allCrds().forEach((crd, i) => obj(`crd-${i}`, crd));
  if (opts.extraSecret) obj('extra-secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'extra', namespace: 'shop' }, ...opts.extraSecret });
  if (opts.declare === 'extra') svc.node.addDependency(ms);
  if (opts.declare === 'cycle') ns.node.addDependency(deploy);
  if (opts.duplicate) obj('reviews-sa-again', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reviews', namespace: 'shop' } });
}
