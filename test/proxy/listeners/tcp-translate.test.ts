/**
 * What api/translate.ts emits for a tcp port with a canary split is what the TCP listeners read:
 * the tcp_proxy weighted_clusters become the connection weights, and the service port the caller
 * names (SNI) selects the callee's TCP chain.
 */
import type { MeshModel, ServiceModel } from '../../../api/model';
import { translate } from '../../../api/translate';
import { parseXds } from '../../../proxy/config';
import { inboundTcpChain } from '../../../proxy/listeners/inbound-tcp';
import { listenerServicePort, tcpClusters } from '../../../proxy/listeners/tcp';

function service(name: string, ports: ServiceModel['ports'], routes: ServiceModel['routes'], calls: ServiceModel['calls'] = []): ServiceModel {
  return {
    name, namespace: 'default', serviceAccount: name, identity: `spiffe://cluster.local/ns/default/sa/${name}`,
    ports, versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }], calls,
    trafficPolicy: { loadBalancer: { policy: 'peak-ewma' }, connectionLimits: {} },
    routes, mtlsModes: {},
  } as ServiceModel;
}

const db = service('db', [
  { name: 'pg', port: 5432, targetPort: 15432, protocol: 'tcp' },
  { name: 'redis', port: 6379, targetPort: 16379, protocol: 'tcp' },
], [{ name: 'default', matches: [], backends: [{ version: 'v1', weight: 80 }, { version: 'v2', weight: 20 }] }]);
const web = service('web', [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'http' }], [{ name: 'default', matches: [], backends: [{ version: 'v1', weight: 100 }] }], [{ name: 'db', namespace: 'default' }]);

const model: MeshModel = {
  mesh: { name: 'default', trustDomain: 'cluster.local', defaultMtlsMode: 'STRICT', defaultInboundPolicy: 'allow', certificateTtlMs: 86_400_000 },
  services: [web, db],
  endpoints: [
    { service: 'db', namespace: 'default', version: 'v1', address: '10.0.0.1', ports: { pg: 15006, redis: 15006 }, ready: true, instance: 'd1', meshed: true },
    { service: 'db', namespace: 'default', version: 'v2', address: '10.0.0.2', ports: { pg: 15006, redis: 15006 }, ready: true, instance: 'd2', meshed: true },
  ],
  policies: [],
} as MeshModel;

test('GIVEN translate() for a caller of a canaried tcp service THEN each TCP listener carries the 80/20 weights and its service port', () => {
  const c = parseXds(translate(model, { kind: 'sidecar', node: { service: 'web', namespace: 'default', version: 'v1' } }));
  for (const port of [5432, 6379]) {
    const l = c.listeners.get(`outbound|db.default:${port}`)!;
    expect(listenerServicePort(l)).toBe(port);
    const picked = tcpClusters(c, l);
    expect(picked.map((p) => p.weight)).toEqual([80, 20]);
    // the clusters are the port's version clusters, present in the config, with mTLS to the db identity
    expect(new Set(picked.map((p) => p.cluster.name)).size).toBe(2);
    for (const p of picked) expect(p.cluster.tls?.expectedIdentity).toBe('spiffe://cluster.local/ns/default/sa/db');
  }
  const pg = tcpClusters(c, c.listeners.get('outbound|db.default:5432')!).map((p) => p.cluster.name);
  const redis = tcpClusters(c, c.listeners.get('outbound|db.default:6379')!).map((p) => p.cluster.name);
  expect(pg.some((n) => redis.includes(n))).toBe(false);
});

test('GIVEN translate() for the tcp service itself THEN the service port selects its TCP chain', () => {
  const c = parseXds(translate(model, { kind: 'sidecar', node: { service: 'db', namespace: 'default', version: 'v1' } }));
  const inbound = [...c.listeners.values()].find((l) => l.direction === 'inbound');
  expect(inboundTcpChain(inbound, 6379)).toMatchObject({ name: 'inbound|redis', destinationPort: 16379 });
  expect(inboundTcpChain(inbound, 5432)).toMatchObject({ name: 'inbound|pg', destinationPort: 15432 });
  expect(inboundTcpChain(inbound, 80)).toBeUndefined();
});
