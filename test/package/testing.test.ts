/** weft-mesh/testing: mayCall asked of a chart (namespaces default to the chart's), meshObjects for snapshots, meshModel. */
import { App, Chart, Testing } from 'cdk8s';
import { Mesh, MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';
import { mayCall, meshModel, meshObjects } from '../../package/testing';

function shop(app: App = Testing.app(), namespace: string | undefined = 'shop'): Chart {
  const chart = new Chart(app, `shop-${namespace ?? 'none'}`, namespace ? { namespace } : {});
  const mesh = new Mesh(chart, 'mesh', { trustDomain: 'shop.local' });
  const api = new MeshService(chart, 'api', { mesh, image: 'r/api:1', port: 8080, protocol: Protocol.HTTP });
  const web = new MeshService(chart, 'web', { mesh, image: 'r/web:1', port: 8080, protocol: Protocol.HTTP });
  new MeshService(chart, 'batch', { mesh, image: 'r/batch:1', port: 8080, protocol: Protocol.HTTP });
  web.calls(api);
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  return chart;
}

describe('mayCall', () => {
  test('from and to default to the chart\'s namespace', () => {
    const chart = shop();
    expect(mayCall(chart, { from: { service: 'web' }, to: { service: 'api' } })).toMatchObject({ allowed: true, mtlsMode: 'STRICT' });
    expect(mayCall(chart, { from: 'unmeshed', to: { service: 'api' } })).toMatchObject({ allowed: false, reason: 'plaintext_refused' });
  });

  test('an explicit namespace still wins; a name not in the mesh is a coded error', () => {
    const chart = shop();
    expect(mayCall(chart, { from: { service: 'web', namespace: 'shop' }, to: { service: 'api', namespace: 'shop' } }).allowed).toBe(true);
    expect(() => mayCall(chart, { from: { service: 'web' }, to: { service: 'api', namespace: 'default' } }))
      .toThrow(expect.objectContaining({ code: 'WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE' }));
  });

  test('an App whose charts share one namespace defaults to it; objects and models are accepted as they are', () => {
    const app = Testing.app();
    shop(app);
    expect(mayCall(app, { from: { service: 'web' }, to: { service: 'api' } }).allowed).toBe(true);
    const objects = shop().toJson();
    expect(mayCall(objects, { from: { service: 'web', namespace: 'shop' }, to: { service: 'api', namespace: 'shop' } }).allowed).toBe(true);
    expect(mayCall(meshModel(objects), { from: { service: 'web', namespace: 'shop' }, to: { service: 'api', namespace: 'shop' } }).allowed).toBe(true);
  });

  test('a chart without a namespace keeps the `default` namespace', () => {
    const chart = shop(Testing.app(), undefined);
    expect(mayCall(chart, { from: { service: 'web' }, to: { service: 'api' } }).allowed).toBe(true);
  });
});

describe('meshObjects', () => {
  test('keeps the mesh\'s own objects and drops the CRDs and the control-plane install', () => {
    const chart = shop();
    const all = chart.toJson() as { kind: string; metadata: { name: string } }[];
    const kept = meshObjects(chart);
    const ids = kept.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(ids).toEqual(expect.arrayContaining(['MeshConfig/mesh', 'MeshService/api', 'Deployment/api-v1', 'Service/web', 'MtlsPolicy/strict']));
    expect(ids.some((i) => i.startsWith('CustomResourceDefinition/') || i.includes('weft-control-plane') || i === 'Namespace/weft-system')).toBe(false);
    expect(all.some((o) => o.kind === 'CustomResourceDefinition')).toBe(true);
    expect(meshObjects(chart, { includeCrds: true, includeControlPlane: true })).toHaveLength(all.length);
  });

  test('is deterministic (a snapshot of it does not churn)', () => {
    expect(JSON.stringify(meshObjects(shop()))).toBe(JSON.stringify(meshObjects(shop())));
  });
});

test('meshModel: the services the control plane would see', () => {
  expect(meshModel(shop()).services.map((s) => `${s.namespace}/${s.name}`).sort()).toEqual(['shop/api', 'shop/batch', 'shop/web']);
});
