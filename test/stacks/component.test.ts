/**
 * WeftMesh under Pulumi's mocks: one typed child per synthesized object, every child parented to
 * the component, dependsOn as planned, outputs from the resources, registerOutputs last.
 */
import * as pulumi from '@pulumi/pulumi';
import { installMocks, MockRecorder, Registration } from '../../stacks/mocks';
import { synthesizeMesh } from '../../stacks/synth';
import type { WeftMesh as WeftMeshType } from '../../stacks/component';
import { buildFixture } from './fixture-mesh';
import { ApiObject } from 'cdk8s';

let mocks: MockRecorder;
let WeftMesh: typeof WeftMeshType;

beforeAll(async () => {
  mocks = await installMocks({ project: 'weft', stack: 'test' });
  // Import the component (and @pulumi/kubernetes through it) only after the mocks are set.
  ({ WeftMesh } = await import('../../stacks/component'));
});

const outputOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe('the fixture mesh', () => {
  let mesh: WeftMeshType;
  let regs: Registration[];
  let byUrn: Map<string, Registration>;

  beforeAll(async () => {
    mesh = new WeftMesh('shop', { build: (chart) => buildFixture(chart), chartId: 'fixture' });
    await outputOf(pulumi.all([mesh.controlPlaneAddress, mesh.meshedServices]));
    await mocks.settle();
    regs = mocks.registrations.filter((r) => r.urn.includes('::shop'));
    byUrn = new Map(regs.map((r) => [r.urn, r]));
  });

  test('registers the component and one child per synthesized object, each parented to the component', () => {
    const expected = synthesizeMesh({ build: (chart) => buildFixture(chart), chartId: 'fixture' }).objects;
    const component = regs.find((r) => r.type === 'weft:index:Mesh')!;
    expect(component.custom).toBe(false);
    const children = regs.filter((r) => r !== component);
    expect(children).toHaveLength(expected.length);
    for (const child of children) expect(child.parent).toBe(component.urn);
  });

  test('types and names follow the objects: typed classes for built-in kinds, CustomResource tokens for weft kinds', () => {
    const names = regs.map((r) => `${r.type} ${r.name}`);
    expect(names).toContain('kubernetes:apps/v1:Deployment shop-shop/reviews-v1');
    expect(names).toContain('kubernetes:core/v1:Service shop-weft-system/weft-control-plane');
    expect(names).toContain('kubernetes:core/v1:Namespace shop-shop');
    expect(names).toContain('kubernetes:weft.dev/v1alpha1:MeshService shop-shop/reviews');
    expect(names).toContain('kubernetes:weft.dev/v1alpha1:MeshConfig shop-default');
    expect(names).toContain('kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition shop-meshservices.weft.dev');
  });

  test('dependsOn reaches the engine: CRD → CR, Namespace → contents, control plane → workloads', () => {
    const deps = (type: string, name: string) => {
      const r = regs.find((x) => x.type === type && x.name === name)!;
      return r.dependencies.map((u) => `${byUrn.get(u)!.type} ${byUrn.get(u)!.name}`).sort();
    };
    expect(deps('kubernetes:weft.dev/v1alpha1:MeshService', 'shop-shop/reviews')).toEqual([
      'kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition shop-meshservices.weft.dev',
      'kubernetes:core/v1:Namespace shop-shop',
    ]);
    expect(deps('kubernetes:apps/v1:Deployment', 'shop-shop/reviews-v1')).toEqual([
      'kubernetes:apps/v1:Deployment shop-weft-system/weft-control-plane',
      'kubernetes:core/v1:ConfigMap shop-shop/reviews-v1-weft-bootstrap',
      'kubernetes:core/v1:Namespace shop-shop',
      'kubernetes:core/v1:Service shop-weft-system/weft-control-plane',
      'kubernetes:core/v1:ServiceAccount shop-shop/reviews',
    ]);
    // And the engine saw every dependency before its dependent.
    const order = new Map(regs.map((r, i) => [r.urn, i]));
    for (const r of regs) for (const d of r.dependencies) expect(order.get(d)!).toBeLessThan(order.get(r.urn)!);
  });

  test('each child carries its object whole (same body as synth)', () => {
    const expected = synthesizeMesh({ build: (chart) => buildFixture(chart), chartId: 'fixture' }).objects;
    const bodies = regs.filter((r) => r.custom).map((r) => r.inputs);
    for (const o of expected) expect(bodies).toContainEqual(o);
  });

  test('outputs: the control plane xDS address and the meshed services', async () => {
    expect(await outputOf(mesh.controlPlaneAddress)).toBe('weft-control-plane.weft-system.svc:15010');
    expect(await outputOf(mesh.meshedServices)).toEqual(['shop/reviews']);
  });

  test('registerOutputs recorded the outputs on the component', () => {
    const component = regs.find((r) => r.type === 'weft:index:Mesh')!;
    const state = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, { state: Record<string, unknown> }> };
    const outputs = state.resources.get(component.urn)!.state as unknown as { toJavaScript(): Record<string, unknown> };
    expect(outputs.toJavaScript()).toEqual({ controlPlaneAddress: 'weft-control-plane.weft-system.svc:15010', meshedServices: ['shop/reviews'] });
  });
});

test('an invalid mesh throws before the component or any child is registered', async () => {
  // GIVEN a mesh whose Secret carries a private key
  const before = mocks.newResourceCalls.length;
  let code: string | undefined;
  try {
    new WeftMesh('bad', { build: (chart) => buildFixture(chart, { extraSecret: { stringData: { 'tls.key': 'k' } } }) });
  } catch (e) {
    code = (e as { code?: string }).code;
  }
  await mocks.settle();
  expect(code).toBe('WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL');
  expect(mocks.newResourceCalls.slice(before)).toEqual([]);
});

test('a Secret without key material is created with its data stored as a Pulumi secret', async () => {
  // GIVEN a mesh with a Secret holding a (non-key) password
  const mesh = new WeftMesh('withsecret', { build: (chart) => buildFixture(chart, { extraSecret: { stringData: { password: 'hunter2' } } }) });
  await outputOf(mesh.meshedServices);
  await mocks.settle();
  // THEN the registered Secret's stringData carries Pulumi's secret signature, not a plain value
  const secret = mocks.registrations.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.name === 'withsecret-shop/extra')!;
  const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
  expect(secret.inputs.stringData).toEqual({ '4dabf18193072939515e22adb298388d': SECRET_SIG, value: { password: 'hunter2' } });
});

test('a kind outside the typed table becomes a CustomResource under its own token; a mesh without control plane has no address', async () => {
  // GIVEN a "mesh" of one third-party object
  const body = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm', namespace: 'x' }, spec: { endpoints: [{ port: 'admin' }] } };
  const mesh = new WeftMesh('extras', { build: (chart) => { new ApiObject(chart, 'sm', body); } });
  // THEN it registers whole under kubernetes:<apiVersion>:<kind>, and the outputs are empty, not wrong
  expect(await outputOf(mesh.controlPlaneAddress)).toBeUndefined();
  expect(await outputOf(mesh.meshedServices)).toEqual([]);
  await mocks.settle();
  const reg = mocks.registrations.find((r) => r.name === 'extras-x/m')!;
  expect(reg.type).toBe('kubernetes:monitoring.coreos.com/v1:ServiceMonitor');
  expect(reg.inputs).toEqual(body);
});

test('WeftMesh has no built-in mesh: without `build` it fails with WEFT_ERR_STACK_NO_BUILD before registering anything', async () => {
  const before = mocks.newResourceCalls.length;
  expect(() => new WeftMesh('nobuild', {} as never)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_STACK_NO_BUILD' }));
  await mocks.settle();
  expect(mocks.newResourceCalls.length).toBe(before);
});
