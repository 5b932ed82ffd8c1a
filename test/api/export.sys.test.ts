/**
 * Export to Istio and Gateway API GAMMA: every object passes the @kubernetes-models schemas; what a
 * target cannot express is a coded warning; and for bookinfo and two more meshes the mayCall
 * answers and the canary weights read back from the exported objects (independent readers in
 * test/support/export-readers.ts) equal weft's.
 */
import { Chart, Testing } from 'cdk8s';
import { buildModel } from '../../api/build-model';
import { exportManifests, exportModel, type ExportResult, type ExportTarget } from '../../api/export';
import { mayCall } from '../../api/may-call';
import type { MeshModel, ServiceModel } from '../../api/model';
import { API_VERSION, type WeftResource } from '../../api/resources';
import { exportMesh } from '../../constructs';
import { bookinfo } from '../../examples/bookinfo/mesh';
import { pay, shop } from '../support/export-meshes';
import { gatewayRouteWeights, istioMayCall, istioRouteWeights, type Workload } from '../support/export-readers';
import { schemaFailures } from '../support/export-schemas';

const TARGETS: ExportTarget[] = ['istio', 'gateway-api'];

function bookinfoChart(): Chart {
  const chart = new Chart(Testing.app(), 'bookinfo', { namespace: 'bookinfo' });
  bookinfo(chart);
  return chart;
}

interface Mesh { readonly name: string; readonly model: MeshModel; exported(target: ExportTarget): ExportResult }
function fromResources(name: string, resources: WeftResource<unknown>[]): Mesh {
  const { model, statuses } = buildModel(resources, []);
  expect(statuses.filter((s) => !s.accepted)).toEqual([]);
  return { name, model, exported: (t) => exportManifests(resources, t) };
}
const bookinfoMesh = (): Mesh => {
  const chart = bookinfoChart();
  const weft = chart.toJson().filter((o: { apiVersion?: string }) => o.apiVersion === API_VERSION) as WeftResource<unknown>[];
  return { name: 'bookinfo', model: buildModel(weft, []).model, exported: (t) => exportMesh(chart, t) };
};
const meshes: (() => Mesh)[] = [bookinfoMesh, () => fromResources('shop', shop), () => fromResources('pay', pay)];

function workload(svc: ServiceModel): Workload {
  return { name: svc.name, namespace: svc.namespace, labels: { app: svc.name }, principal: svc.identity.replace(/^spiffe:\/\//, ''), ports: svc.ports };
}

describe.each(meshes.map((m) => [m().name, m] as const))('mesh %s', (_name, make) => {
  const mesh = make();

  test.each(TARGETS)('GIVEN the %s export THEN every object passes the @kubernetes-models schema of its kind', (target) => {
    const { objects } = mesh.exported(target);
    expect(objects.length).toBeGreaterThan(3);
    expect(schemaFailures(objects)).toEqual([]);
  });

  test.each(TARGETS)('GIVEN the %s export THEN mayCall read back from the exported Istio security objects equals weft\'s for every caller, port and request', (target) => {
    const { objects } = mesh.exported(target);
    const callers: (ServiceModel | 'unmeshed')[] = [...mesh.model.services, 'unmeshed'];
    const requests = [['GET', '/'], ['POST', '/api/orders'], ['GET', '/ratings/1'], ['DELETE', '/admin/users'], ['GET', '/beta/x'], ['POST', '/accounts/7']];
    const seen = new Set<boolean>();
    const diffs: string[] = [];
    for (const to of mesh.model.services) {
      for (const port of to.ports) {
        for (const from of callers) {
          for (const [method, path] of port.protocol === 'tcp' ? [['GET', '/']] : requests) {
            const weft = mayCall(mesh.model, { from: from === 'unmeshed' ? 'unmeshed' : { service: from.name, namespace: from.namespace }, to: { service: to.name, namespace: to.namespace, port: port.port }, method, path }).allowed;
            const exported = istioMayCall(objects as never, { from: from === 'unmeshed' ? 'unmeshed' : workload(from), to: workload(to), port: port.port, method, path });
            seen.add(weft);
            if (weft !== exported) diffs.push(`${from === 'unmeshed' ? 'unmeshed' : from.name} → ${to.name}:${port.port} ${method} ${path}: weft ${weft}, exported ${exported}`);
          }
        }
      }
    }
    expect(diffs).toEqual([]);
    // both answers occur, so the comparison is not vacuous
    expect([...seen].sort()).toEqual([false, true]);
  });

  test('GIVEN the istio export THEN the weights of every routed HTTP route read back from the VirtualService equal the model\'s', () => {
    const { objects } = mesh.exported('istio');
    for (const svc of mesh.model.services.filter((s) => s.ports.some((p) => p.protocol !== 'tcp'))) {
      const expected = svc.routes.filter((r) => !r.redirect && !r.directResponse).map((r) => Object.fromEntries(r.backends.filter((b) => b.weight > 0).map((b) => [b.version, b.weight])));
      expect({ svc: svc.name, weights: istioRouteWeights(objects as never, svc.name, svc.namespace) }).toEqual({ svc: svc.name, weights: expected });
    }
  });

  test('GIVEN the gateway-api export THEN the weights of every rule read back through the version Services equal the model\'s, per port', () => {
    const { objects } = mesh.exported('gateway-api');
    let rules = 0;
    for (const svc of mesh.model.services) {
      const read = gatewayRouteWeights(objects as never, svc.name, svc.namespace);
      for (const port of svc.ports.filter((p) => p.protocol !== 'tcp')) {
        const expected = svc.routes.filter((r) => (r.port === undefined || r.port === port.name) && !r.directResponse && !r.redirect)
          .map((r) => Object.fromEntries(r.backends.filter((b) => b.weight > 0).map((b) => [b.version, b.weight])));
        expect({ svc: svc.name, port: port.port, weights: read.get(port.port) }).toEqual({ svc: svc.name, port: port.port, weights: expected });
        rules += expected.length;
      }
    }
    expect(rules).toBeGreaterThan(3);
  });
});

test('GIVEN bookinfo THEN the canary reads back as 90/10 with the header pin to v2 in both targets', () => {
  const chart = bookinfoChart();
  expect(istioRouteWeights(exportMesh(chart, 'istio').objects as never, 'reviews', 'bookinfo').slice(0, 2)).toEqual([{ v2: 100 }, { v1: 90, v2: 10 }]);
  expect(gatewayRouteWeights(exportMesh(chart, 'gateway-api').objects as never, 'reviews', 'bookinfo').get(9080)?.slice(0, 2)).toEqual([{ v2: 100 }, { v1: 90, v2: 10 }]);
});

test('GIVEN a broken exported object THEN the schema check reports it (the check can fail)', () => {
  const { objects } = exportManifests(shop, 'gateway-api');
  const route = objects.find((o) => o.kind === 'HTTPRoute')!;
  const broken = { ...route, spec: { ...route.spec, rules: [{ backendRefs: [{ name: 'api-v1', port: 8080, weight: -5 }] }] } };
  const vs = exportManifests(shop, 'istio').objects.find((o) => o.kind === 'VirtualService')!;
  const brokenVs = { ...vs, spec: { ...vs.spec, hosts: 'not-a-list' } };
  expect(schemaFailures([broken, brokenVs]).map((f) => f.kind)).toEqual(['HTTPRoute', 'VirtualService']);
});

const warned = (r: ExportResult) => r.warnings.map((w) => `${w.resource} ${w.field}`);

test('GIVEN what Istio cannot express THEN each is a WEFT_ERR_EXPORT_UNSUPPORTED warning naming the resource and field', () => {
  const r = exportManifests(pay, 'istio');
  expect(new Set(r.warnings.map((w) => w.code))).toEqual(new Set(['WEFT_ERR_EXPORT_UNSUPPORTED']));
  expect(warned(r)).toEqual(expect.arrayContaining([
    'MeshService pay/ledger trafficPolicy.outlierDetection.successRate',
    'MeshService pay/ledger trafficPolicy.rateLimit',
    'CanaryRoute pay/ledger-routes routes[ledger-routes.chaos].match[0].query.debug',
    'CanaryRoute pay/ledger-routes routes[ledger-routes.main].retries.backoff',
    'MtlsPolicy pay/ledger-authz rules[].action',
    'MeshConfig pay trustDomain',
  ]));
  // what Istio can say is not warned about: faults, direct responses, redirects, consistent hashing
  expect(warned(r).filter((w) => /fault|directResponse|redirect|ledger trafficPolicy.loadBalancer/.test(w))).toEqual([]);
});

test('GIVEN what Gateway API cannot express THEN each is a warning, and the rule left out is named', () => {
  const r = exportManifests(pay, 'gateway-api');
  expect(warned(r)).toEqual(expect.arrayContaining([
    'CanaryRoute pay/ledger-routes routes[ledger-routes.chaos].fault',
    'CanaryRoute pay/ledger-routes routes[ledger-routes.chaos].match[0].query[0]',
    'CanaryRoute pay/checkout-canary routes[checkout-canary.legacy].directResponse',
    'CanaryRoute pay/checkout-canary routes[checkout-canary.charge-v2].timeout',
    'CanaryRoute pay/ledger-routes routes[ledger-routes.main].retries.on',
  ]));
  const grpc = r.objects.find((o) => o.kind === 'GRPCRoute')!;
  expect((grpc.spec.rules as { name: string; matches?: unknown[] }[]).map((x) => x.name)).toEqual(['checkout-canary.charge-v2', 'checkout-canary.split', 'default']);
  expect((grpc.spec.rules as { matches?: unknown[] }[])[0].matches).toEqual([{ method: { type: 'Exact', service: 'pay.Checkout', method: 'Charge' }, headers: [{ type: 'RegularExpression', name: 'x-tier', value: 'gold|platinum' }] }]);
});

test('GIVEN a rejected resource in the manifests THEN it is a warning, never dropped silently', () => {
  const bad = [...shop, { apiVersion: API_VERSION, kind: 'CanaryRoute', metadata: { name: 'ghost', namespace: 'shop' }, spec: { service: { name: 'nope' }, routes: [{ backends: [{ version: 'v1', weight: 100 }] }] } }];
  const r = exportManifests(bad, 'istio');
  expect(r.warnings.find((w) => w.resource === 'CanaryRoute shop/ghost')?.message).toMatch(/WEFT_ERR_MODEL_UNKNOWN_SERVICE/);
});

test('GIVEN an unknown target THEN WEFT_ERR_EXPORT_TARGET', () => {
  expect(() => exportModel(buildModel(shop, []).model, 'linkerd' as ExportTarget)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_EXPORT_TARGET' }));
});
