/** The bookinfo example: what it synthesizes, that it is valid, that it can be re-used with overrides. */
import { Chart, Testing } from 'cdk8s';
import { parseBootstrap } from '../../api/bootstrap';
import { meshProblems } from '../../api/mesh-rules';
import { Interception } from '../../constructs';
import { manifestProblems } from '../../constructs/validation/k8s-schema';
import { bookinfo } from '../../examples/bookinfo/mesh';

function build(props: Parameters<typeof bookinfo>[1] = {}) {
  const app = Testing.app();
  const chart = new Chart(app, 'bookinfo', { namespace: props.namespace ?? 'bookinfo' });
  const built = bookinfo(chart, props);
  return { chart, built, objs: Testing.synth(chart) as any[] };
}
const find = (objs: any[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

test('synthesizes the control plane, CRDs and the four services with native sidecars (snapshot)', () => {
  const { objs } = build();
  expect(objs.filter((o) => o.kind === 'Deployment').map((d) => d.metadata.name).sort()).toEqual(
    ['details-v1', 'productpage-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'weft-control-plane']);
  expect(objs.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(4);
  for (const d of objs.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === 'bookinfo')) {
    const proxy = d.spec.template.spec.initContainers.find((c: any) => c.name === 'weft-proxy');
    expect(proxy.restartPolicy).toBe('Always');
  }
  expect(objs.filter((o) => o.kind !== 'CustomResourceDefinition')).toMatchSnapshot();
});

test('every object passes the Kubernetes / CRD schemas and the mesh rules', () => {
  const { objs } = build();
  expect(manifestProblems(objs)).toEqual([]);
  expect(meshProblems(objs.filter((o) => o.apiVersion === 'weft.dev/v1alpha1'))).toEqual([]);
});

test('canary 90/10 with a header pin to v2, STRICT mTLS, declared calls', () => {
  const { objs } = build();
  const canary = find(objs, 'CanaryRoute', 'reviews-canary');
  expect(canary.spec.routes.map((r: any) => r.backends)).toEqual([[{ version: 'v2', weight: 100 }], [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }]]);
  expect(canary.spec.routes[0].match).toEqual([{ headers: [{ name: 'x-canary', exact: 'always' }] }]);
  expect(find(objs, 'MtlsPolicy', 'strict').spec.mode).toBe('STRICT');
  expect(find(objs, 'MeshConfig', 'mesh').spec.defaultMtlsMode).toBe('STRICT');
  expect(find(objs, 'MeshService', 'productpage').spec.calls).toEqual([{ name: 'details', namespace: 'bookinfo' }, { name: 'reviews', namespace: 'bookinfo' }]);
  expect(find(objs, 'MeshService', 'reviews').spec.calls).toEqual([{ name: 'ratings', namespace: 'bookinfo' }]);
  expect(find(objs, 'MtlsPolicy', 'ratings-callers').spec.rules[0].from).toEqual([{ services: [{ name: 'reviews', namespace: 'bookinfo' }] }]);
});

test('every version can be run locally by weft up with a node server from examples/bookinfo/apps', () => {
  const { objs } = build();
  for (const ms of objs.filter((o) => o.kind === 'MeshService')) {
    for (const v of ms.spec.versions) expect(v.local.command).toEqual(['node', `apps/${ms.metadata.name}.js`]); // relative to examples/bookinfo (the mesh file's folder)
  }
  expect(find(objs, 'MeshService', 'reviews').spec.versions.map((v: any) => v.local.env)).toEqual([
    { SERVICE: 'reviews', VERSION: 'v1' }, { SERVICE: 'reviews', VERSION: 'v2', STARS: 'true' },
  ]);
});

test('props override namespace, images, trust domain, replicas and interception', () => {
  const { objs, built } = build({
    namespace: 'books', imageRepository: 'registry.local/bi', imageTag: '2.0.0', meshImageRepository: 'registry.local/weft', meshImageTag: 'dev',
    trustDomain: 'books.local', replicas: { 'reviews-v2': 3, productpage: 2 }, interception: Interception.EXPLICIT,
  });
  expect(built.reviews.namespace).toBe('books');
  expect(find(objs, 'Namespace', 'books')).toBeDefined();
  expect(find(objs, 'Deployment', 'reviews-v2').spec.replicas).toBe(3);
  expect(find(objs, 'Deployment', 'productpage-v1').spec.replicas).toBe(2);
  expect(find(objs, 'Deployment', 'reviews-v2').spec.template.spec.containers[0].image).toBe('registry.local/bi/reviews:2.0.0-v2');
  expect(find(objs, 'Deployment', 'weft-control-plane').spec.template.spec.containers[0].image).toBe('registry.local/weft:dev');
  const boot = parseBootstrap(JSON.parse(find(objs, 'ConfigMap', 'ratings-v1-weft').data['bootstrap.json']));
  expect(boot).toMatchObject({ interception: 'explicit', identity: { trustDomain: 'books.local' }, node: { namespace: 'books' } });
});
