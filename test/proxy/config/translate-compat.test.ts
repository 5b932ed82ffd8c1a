/**
 * The proxy's parser reads what the control plane's translate() emits, for sidecars and for
 * proxyless clients: no problems, and the weft metadata (peak-EWMA, identity, route names) lands.
 */
import type { MeshModel, ServiceModel } from '../../../api/model';
import { translate } from '../../../api/translate';
import { parseXds } from '../../../proxy/config';
import type { ForwardAction } from '../../../proxy/config';
import { makeRequest, seededRandom } from '../../support/proxy-fixtures';
import { selectRoute } from '../../../proxy/layers/route-match';

function service(name: string, calls: { name: string; namespace: string }[] = []): ServiceModel {
  return {
    name,
    namespace: 'default',
    serviceAccount: name,
    identity: `spiffe://cluster.local/ns/default/sa/${name}`,
    ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'http' }],
    versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }],
    calls,
    trafficPolicy: {
      loadBalancer: { policy: 'peak-ewma' },
      connectionLimits: { maxRequests: 50 },
      outlierDetection: { consecutive5xx: 3, intervalMs: 5000, baseEjectionTimeMs: 10000, maxEjectionPercent: 50 },
    },
    routes: [
      {
        name: 'canary',
        source: 'reviews-canary',
        matches: [{ headers: [{ name: 'x-canary', exact: 'yes', invert: false }], query: [] }],
        backends: [{ version: 'v2', weight: 100 }],
        retries: { attempts: 2, on: ['5xx'], retriableStatusCodes: [], backoffBaseMs: 25, backoffMaxMs: 250 },
        timeoutMs: 2000,
      },
      { name: 'default', matches: [], backends: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] },
    ],
    mtlsModes: { 9080: 'STRICT' },
  };
}

const model: MeshModel = {
  mesh: { name: 'default', trustDomain: 'cluster.local', defaultMtlsMode: 'STRICT', defaultInboundPolicy: 'allow', certificateTtlMs: 86_400_000 },
  services: [service('productpage', [{ name: 'reviews', namespace: 'default' }]), service('reviews')],
  endpoints: [
    { service: 'reviews', namespace: 'default', version: 'v1', address: '10.0.0.1', ports: { http: 15006 }, ready: true, instance: 'r1', meshed: true },
    { service: 'reviews', namespace: 'default', version: 'v2', address: '10.0.0.2', ports: { http: 15006 }, ready: true, instance: 'r2', meshed: true },
  ],
  policies: [],
};

test('GIVEN translate() for a sidecar WHEN the proxy parses it THEN it is accepted and routes by authority', () => {
  const c = parseXds(translate(model, { kind: 'sidecar', node: { service: 'productpage', namespace: 'default', version: 'v1' } }));
  const table = c.routes.get('outbound')!;
  const canary = selectRoute(table, makeRequest({ authority: 'reviews:9080', headers: { 'x-canary': 'yes' } }), seededRandom())!;
  expect(canary.route.name).toBe('reviews-canary/canary');
  const a = canary.route.action as ForwardAction;
  expect(a.clusters.map((x) => x.name)).toEqual(['reviews.default|v2']);
  expect(a.timeoutMs).toBe(2000);
  expect(a.retry!.numRetries).toBe(2);
  const def = selectRoute(table, makeRequest({ authority: 'reviews.default.svc.cluster.local' }), seededRandom())!;
  expect((def.route.action as ForwardAction).clusters).toEqual([{ name: 'reviews.default|v1', weight: 90 }, { name: 'reviews.default|v2', weight: 10 }]);
  const v1 = c.clusters.get('reviews.default|v1')!;
  expect(v1.lbPolicy).toBe('peak-ewma');
  expect(v1.tls).toEqual({ expectedIdentity: 'spiffe://cluster.local/ns/default/sa/reviews' });
  expect(v1.circuitBreakers.maxRequests).toBe(50);
  expect(v1.outlierDetection).toMatchObject({ consecutive5xx: 3, successRate: undefined, maxEjectionPercent: 50 });
  expect(c.endpoints.get('reviews.default|v1')!.endpoints).toEqual([{ address: '10.0.0.1', port: 15006, weight: 1, healthy: true, identity: undefined, meshed: true }]);
  const inbound = [...c.listeners.values()].find((l) => l.direction === 'inbound')!;
  expect(inbound.chains[0]).toMatchObject({ destinationPort: 9080, routeTable: 'inbound|http' });
  expect(c.clusters.get('inbound|http')!.staticEndpoints).toEqual([expect.objectContaining({ address: '127.0.0.1', port: 9080 })]);
  expect(c.clusters.get('inbound|http')!.tls).toBeUndefined();
});

test('GIVEN translate() for a proxyless client WHEN the proxy parses it THEN api_listeners resolve by authority', () => {
  const c = parseXds(translate(model, { kind: 'proxyless' }));
  const l = c.listeners.get('reviews.default:9080')!;
  expect(l.routeTable).toBe('reviews.default:9080');
  expect(c.routes.get(l.routeTable)!.virtualHosts[0].routes.length).toBe(2);
});
