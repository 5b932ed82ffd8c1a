/**
 * Stack config → the mesh: values reach the synthesized objects, and a bad value fails with the
 * constructs' coded error (or WEFT_ERR_STACK_INVALID_CONFIG for a wrong shape) before anything registers.
 */
import * as pulumi from '@pulumi/pulumi';
import { installMocks, MockRecorder, Registration } from '../../stacks/mocks';
import type { WeftMesh as WeftMeshType } from '../../stacks/component';
import type * as ConfigModule from '../../stacks/config';
import { bookinfo } from '../../examples/bookinfo/mesh';

let mocks: MockRecorder;
let WeftMesh: typeof WeftMeshType;
let config: typeof ConfigModule;

beforeAll(async () => {
  mocks = await installMocks({ project: 'weft', stack: 'config' });
  ({ WeftMesh } = await import('../../stacks/component'));
  config = await import('../../stacks/config');
});

const outputOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
let seq = 0;
/** Sets the stack config (as `pulumi config set` would) and deploys the example under a fresh name. */
function deployWith(values: Record<string, string>): WeftMeshType {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`weft:${k}`, v])));
  const props = config.bookinfoProps(config.readWeftConfig());
  return new WeftMesh(`cfg${++seq}`, { build: (chart) => { bookinfo(chart, props); }, chartId: 'bookinfo', chartProps: { namespace: props.namespace ?? 'bookinfo' } });
}

/** Deploys with `values` and returns the thrown error's code plus the newResource calls it caused. */
async function failureOf(values: Record<string, string>): Promise<{ code?: string; calls: number }> {
  const before = mocks.newResourceCalls.length;
  let code: string | undefined;
  try {
    deployWith(values);
  } catch (e) {
    code = (e as { code?: string }).code;
  }
  await mocks.settle();
  return { code, calls: mocks.newResourceCalls.length - before };
}

test('config values reach the objects: namespace, weft image, app image, trust domain, replicas', async () => {
  // GIVEN a stack config that sets every key
  const mesh = deployWith({
    namespace: 'shop', imageRepository: 'registry.local/weft', imageTag: '9.9.9', appImageRepository: 'registry.local/apps',
    appImageTag: '2.0.0', trustDomain: 'shop.example', replicas: '{"reviews-v2": 3, "productpage": 0}',
  });
  await outputOf(mesh.meshedServices);
  await mocks.settle();
  const mine = mocks.registrations.filter((r) => r.name.startsWith(`cfg${seq}-`));
  const find = (kind: string, name: string) => mine.find((r) => r.inputs.kind === kind && (r.inputs.metadata as { name: string }).name === name)!;
  const podSpec = (r: Registration) => ((r.inputs.spec as Record<string, any>).template.spec); // eslint-disable-line @typescript-eslint/no-explicit-any
  // THEN the services live in "shop", with the configured images, replicas and trust domain
  expect(await outputOf(mesh.meshedServices)).toEqual(['shop/details', 'shop/productpage', 'shop/ratings', 'shop/reviews']);
  expect((find('Deployment', 'reviews-v2').inputs.spec as { replicas: number }).replicas).toBe(3);
  expect((find('Deployment', 'productpage-v1').inputs.spec as { replicas: number }).replicas).toBe(0);
  expect((find('Deployment', 'reviews-v1').inputs.spec as { replicas: number }).replicas).toBe(1);
  expect(podSpec(find('Deployment', 'weft-control-plane')).containers[0].image).toBe('registry.local/weft:9.9.9');
  expect(JSON.stringify(podSpec(find('Deployment', 'reviews-v2')))).toContain('registry.local/apps/reviews:2.0.0-v2');
  expect((find('MeshConfig', 'mesh').inputs.spec as { trustDomain: string }).trustDomain).toBe('shop.example');
  expect(find('Namespace', 'shop')).toBeDefined();
});

test('createNamespace=false leaves the Namespace to the cluster admin', async () => {
  const mesh = deployWith({ namespace: 'prod', createNamespace: 'false' });
  await outputOf(mesh.meshedServices);
  await mocks.settle();
  const mine = mocks.registrations.filter((r) => r.name.startsWith(`cfg${seq}-`));
  expect(mine.filter((r) => r.inputs.kind === 'Namespace').map((r) => (r.inputs.metadata as { name: string }).name)).toEqual(['weft-system']);
});

test('an invalid trust domain fails with the Mesh construct\'s code before any resource is registered', async () => {
  expect(await failureOf({ trustDomain: 'Not A Domain!' })).toEqual({ code: 'WEFT_ERR_INVALID_NAME', calls: 0 });
});

test('replicas < 0 fails with the MeshService construct\'s code before any resource is registered', async () => {
  expect(await failureOf({ replicas: '{"ratings": -1}' })).toEqual({ code: 'WEFT_ERR_INVALID_PROP', calls: 0 });
});

test('a namespace that is not a DNS-1123 label fails with the constructs\' code before any resource is registered', async () => {
  expect(await failureOf({ namespace: 'Book_Info' })).toEqual({ code: 'WEFT_ERR_INVALID_NAME', calls: 0 });
});

test('config of the wrong shape fails with WEFT_ERR_STACK_INVALID_CONFIG before any resource is registered', async () => {
  const bad = { code: 'WEFT_ERR_STACK_INVALID_CONFIG', calls: 0 };
  expect(await failureOf({ replicas: 'three' })).toEqual(bad);
  expect(await failureOf({ replicas: '[1,2]' })).toEqual(bad);
  expect(await failureOf({ replicas: '{"reviews-v3": 1}' })).toEqual(bad);
  expect(await failureOf({ replicas: '{"ratings": "2"}' })).toEqual(bad);
  expect(await failureOf({ createNamespace: 'maybe' })).toEqual(bad);
});

test('readWeftConfig returns only what the stack sets', () => {
  pulumi.runtime.setAllConfig({ 'weft:trustDomain': 'a.example', 'other:namespace': 'ignored' });
  expect(config.readWeftConfig()).toEqual({ trustDomain: 'a.example' });
});
