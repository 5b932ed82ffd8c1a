/** The creation plan over plain Kubernetes objects: roles, edges, order and the refusals. */
import { planObjects, PlanStep } from '../../stacks/plan';
import { synthesizeMesh } from '../../stacks/synth';
import { buildFixture, FixtureOptions } from './fixture-mesh';

const synth = (opts: FixtureOptions = {}) => synthesizeMesh({ build: (chart) => buildFixture(chart, opts), chartId: 'fixture' });
const objectsOf = (opts: FixtureOptions = {}) => synth(opts).objects;
const byId = (plan: PlanStep[]) => new Map(plan.map((s) => [s.id, s]));
const codeOf = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code?: string }).code; } return undefined; };

test('every dependency is created before its dependent, and nothing is dropped', () => {
  // GIVEN the fixture, synthesized workloads-first and CRDs-last
  const objects = objectsOf();
  // WHEN planned
  const plan = planObjects(objects);
  // THEN each step's dependencies sit earlier, and the plan holds every object once
  const seen = new Set<string>();
  for (const step of plan) {
    for (const dep of step.dependsOn) expect(seen.has(dep)).toBe(true);
    seen.add(step.id);
  }
  expect(plan).toHaveLength(objects.length);
  expect(plan[0].role).toBe('crd');
});

test('custom resources wait for their own CRD; cluster-scoped MeshConfig has no namespace', () => {
  const plan = byId(planObjects(objectsOf()));
  expect([...plan.get('weft.dev/MeshService:shop/reviews')!.dependsOn].sort()).toEqual(['/Namespace:shop', 'apiextensions.k8s.io/CustomResourceDefinition:meshservices.weft.dev']);
  const meshConfig = plan.get('weft.dev/MeshConfig:default')!;
  expect(meshConfig.clusterScoped).toBe(true);
  expect(meshConfig.dependsOn).toEqual(['apiextensions.k8s.io/CustomResourceDefinition:meshconfigs.weft.dev']);
});

test('a workload waits for its namespace, the control plane Deployment and Service, and what its pods mount', () => {
  const step = byId(planObjects(objectsOf())).get('apps/Deployment:shop/reviews-v1')!;
  expect(step.role).toBe('workload');
  expect([...step.dependsOn].sort()).toEqual([
    '/ConfigMap:shop/reviews-v1-weft-bootstrap',
    '/Namespace:shop',
    '/Service:weft-system/weft-control-plane',
    '/ServiceAccount:shop/reviews',
    'apps/Deployment:weft-system/weft-control-plane',
  ]);
});

test('the control plane is ordered by its own references, not as a workload of itself', () => {
  const plan = byId(planObjects(objectsOf()));
  const cp = plan.get('apps/Deployment:weft-system/weft-control-plane')!;
  expect(cp.role).toBe('control-plane');
  expect([...cp.dependsOn].sort()).toEqual(['/Namespace:weft-system', '/ServiceAccount:weft-system/weft-control-plane']);
  expect([...plan.get('rbac.authorization.k8s.io/RoleBinding:weft-system/weft-ca')!.dependsOn].sort()).toEqual([
    '/Namespace:weft-system', '/ServiceAccount:weft-system/weft-control-plane', 'rbac.authorization.k8s.io/Role:weft-system/weft-ca',
  ]);
});

test('a custom control-plane test changes which Deployment the workloads wait for', () => {
  // GIVEN a predicate that does not match the labelled control plane
  const plan = byId(planObjects(objectsOf(), { isControlPlane: (o) => o.metadata.name === 'nothing' }));
  // THEN the former control plane is an ordinary workload and reviews-v1 no longer waits on it
  expect(plan.get('apps/Deployment:weft-system/weft-control-plane')!.role).toBe('workload');
  expect(plan.get('apps/Deployment:shop/reviews-v1')!.dependsOn).not.toContain('apps/Deployment:weft-system/weft-control-plane');
});

test('a webhook waits for the Service it calls', () => {
  const plan = byId(planObjects([
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'inject' }, webhooks: [{ name: 'a', clientConfig: { service: { name: 'hook', namespace: 'x' } } }] },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hook', namespace: 'x' }, spec: {} },
  ]));
  expect(plan.get('admissionregistration.k8s.io/MutatingWebhookConfiguration:inject')!.dependsOn).toEqual(['/Service:x/hook']);
});

test('malformed and duplicate objects are refused with codes', () => {
  expect(codeOf(() => planObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }]))).toBe('WEFT_ERR_STACK_INVALID_OBJECT');
  expect(codeOf(() => planObjects([null]))).toBe('WEFT_ERR_STACK_INVALID_OBJECT');
  expect(codeOf(() => planObjects(objectsOf({ duplicate: true })))).toBe('WEFT_ERR_STACK_DUPLICATE_OBJECT');
});

test('a Secret carrying private key material is refused, by key name or by PEM content', () => {
  const pem = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n';
  expect(codeOf(() => planObjects(objectsOf({ extraSecret: { stringData: { 'tls.key': 'x' } } })))).toBe('WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL');
  expect(codeOf(() => planObjects(objectsOf({ extraSecret: { data: { 'ca.pem': Buffer.from(pem).toString('base64') } } })))).toBe('WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL');
  expect(codeOf(() => planObjects(objectsOf({ extraSecret: { stringData: { bundle: pem } } })))).toBe('WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL');
  // An empty Secret (a slot the control plane fills at run time) and non-key data are fine.
  expect(codeOf(() => planObjects(objectsOf({ extraSecret: { type: 'Opaque' } })))).toBeUndefined();
  expect(codeOf(() => planObjects(objectsOf({ extraSecret: { stringData: { 'ca.crt': 'public' } } })))).toBeUndefined();
});

test('dependencies the constructs declared are kept on top of the inferred ones', () => {
  // GIVEN Service reviews declared (addDependency) to depend on MeshService reviews
  const { objects, declared } = synth({ declare: 'extra' });
  expect(declared).toContainEqual({
    dependent: { apiVersion: 'v1', kind: 'Service', name: 'reviews', namespace: 'shop' },
    dependency: { apiVersion: 'weft.dev/v1alpha1', kind: 'MeshService', name: 'reviews', namespace: 'shop' },
  });
  // THEN the plan keeps the edge (and without the declaration it is absent)
  expect(byId(planObjects(objects, { declared })).get('/Service:shop/reviews')!.dependsOn).toContain('weft.dev/MeshService:shop/reviews');
  expect(byId(planObjects(objectsOf())).get('/Service:shop/reviews')!.dependsOn).not.toContain('weft.dev/MeshService:shop/reviews');
});

test('declared dependencies that contradict the inferred order are a coded cycle error', () => {
  // GIVEN Namespace shop declared to depend on a Deployment that lives in it
  const { objects, declared } = synth({ declare: 'cycle' });
  expect(codeOf(() => planObjects(objects, { declared }))).toBe('WEFT_ERR_STACK_DEPENDENCY_CYCLE');
});
