/**
 * ADS protocol semantics with a raw grpc-js stream: nonces, stale nonces ignored, ACK vs NACK by
 * error_detail, the per-resource NACK ledger (A46), no resend loop, content versions that survive a
 * restart, make-before-break holds, node identification hooks, and the response size budget.
 */
import { Registry } from 'prom-client';
import { buildModel } from '../../../api/build-model';
import type { EndpointModel, MeshModel } from '../../../api/model';
import type { WeftResource } from '../../../api/resources';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../../api/xds/protos';
import { AdsServer } from '../../../control-plane/xds/ads-server';
import { SnapshotCache } from '../../../control-plane/xds/cache';
import type { ConnectedNode } from '../../../control-plane/xds/wire';
import { ack, RawAds } from './raw-ads';

const A = 'weft.dev/v1alpha1';
const echo = (versions: string[], weights?: Record<string, number>): WeftResource<unknown>[] => [
  { apiVersion: A, kind: 'MeshService', metadata: { name: 'echo', namespace: 'default' }, spec: { serviceAccount: 'echo', interception: 'explicit', ports: [{ name: 'grpc', port: 50051, protocol: 'grpc' }], versions: versions.map((name) => ({ name, replicas: 1 })) } },
  { apiVersion: A, kind: 'MeshService', metadata: { name: 'web', namespace: 'default' }, spec: { serviceAccount: 'web', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }], calls: [{ name: 'echo' }] } },
  ...(weights ? [{ apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'split', namespace: 'default' }, spec: { service: { name: 'echo' }, routes: [{ backends: Object.entries(weights).map(([version, weight]) => ({ version, weight })) }] } } as WeftResource<unknown>] : []),
] as WeftResource<unknown>[];
const eps = (versions: string[], perVersion = 1): EndpointModel[] => versions.flatMap((v, i) => Array.from({ length: perVersion }, (_, j) => ({ service: 'echo', namespace: 'default', version: v, address: `10.0.${i}.${j + 1}`, ports: { grpc: 50051 }, ready: true, instance: `${v}-${j}`, meshed: false })));
const model = (versions: string[], weights?: Record<string, number>, perVersion = 1): MeshModel => buildModel(echo(versions, weights), eps(versions, perVersion)).model;

const proxylessNode = { id: 'grpc-client-1', user_agent_name: 'gRPC Node Pure JS', client_features: ['envoy.lb.does_not_support_overprovisioning'], locality: {} };
const sidecarNode = { id: 'web-v1-0', user_agent_name: 'weft-proxy', metadata: { service: 'web', namespace: 'default', version: 'v1', endpoint: { address: '10.1.0.5', ports: { http: 15006 } } } };

describe('ADS protocol', () => {
  let cache: SnapshotCache;
  let server: AdsServer;
  let port: number;
  let registry: Registry;
  const clients: RawAds[] = [];
  const connected: ConnectedNode[] = [];
  const disconnected: ConnectedNode[] = [];
  const open = () => { const c = new RawAds(port); clients.push(c); return c; };

  beforeEach(async () => {
    cache = new SnapshotCache();
    cache.setModel(model(['v1', 'v2'], { v1: 80, v2: 20 }));
    registry = new Registry();
    server = new AdsServer({ cache, metricsRegistry: registry, onNodeConnected: (n) => connected.push(n), onNodeDisconnected: (n) => disconnected.push(n) });
    port = await server.listen(0);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
    connected.length = 0;
    disconnected.length = 0;
  });

  test('first response, ACK without resend, stale nonce ignored, subscription change answered', async () => {
    const c = open();
    c.send({ node: proxylessNode, type_url: LISTENER, resource_names: ['echo.default'] });
    const lds = await c.next();
    expect(lds).toEqual(expect.objectContaining({ type_url: LISTENER, nonce: '1' }));
    expect(lds.version_info).toMatch(/^[0-9a-f]{16}$/);
    expect(lds.resources!.map((r) => r.name)).toEqual(['echo.default']);
    c.send(ack(lds, ['echo.default']));
    // A stale nonce with a new subscription is ignored entirely…
    c.send({ type_url: LISTENER, response_nonce: 'stale', resource_names: ['echo.default', 'web.default'] });
    // …so the next response is the one for this RDS request (no LDS resend on ACK, none for the stale one).
    c.send({ type_url: ROUTE, resource_names: ['echo.default:50051'] });
    const rds = await c.next();
    expect(rds.type_url).toBe(ROUTE);
    expect(rds.resources![0].name).toBe('echo.default:50051');
    // The same change on the current nonce is answered.
    c.send({ type_url: LISTENER, response_nonce: lds.nonce, version_info: lds.version_info, resource_names: ['echo.default', 'web.default'] });
    const lds2 = await c.next();
    expect(lds2.type_url).toBe(LISTENER);
    expect(lds2.resources!.map((r) => r.name).sort()).toEqual(['echo.default', 'web.default']);
    expect(await registry.getSingleMetricAsString('weft_xds_stale_requests_total')).toMatch(/type="Listener"} 1/);
    expect(connected.map((n) => [n.id, n.kind])).toEqual([['grpc-client-1', 'proxyless']]);
  });

  test('a stream whose first request has no node is refused with INVALID_ARGUMENT', async () => {
    const c = open();
    c.send({ type_url: LISTENER, resource_names: ['echo.default'] });
    await expect(c.next(5000)).rejects.toThrow();
    expect((c.error as { code?: number } | undefined)?.code).toBe(3);
    expect(connected).toEqual([]);
  });

  test('NACK: per-resource ledger from the error text (A46), status and metrics, and no resend loop', async () => {
    const c = open();
    const names = ['echo.default|v1', 'echo.default|v2'];
    c.send({ node: proxylessNode, type_url: CLUSTER, resource_names: names });
    const cds = await c.next();
    expect(cds.resources!.map((r) => r.name)).toEqual(names);
    c.send({ type_url: CLUSTER, response_nonce: cds.nonce, version_info: cds.version_info, resource_names: names, error_detail: { code: 14, message: 'xDS response validation errors: [resource index 1: lb_policy is bad]' } });
    c.send({ type_url: ENDPOINT, resource_names: ['echo.default|v1'] });
    expect((await c.next()).type_url).toBe(ENDPOINT); // not a CDS resend
    const ledger = server.status.resources('grpc-client-1').filter((e) => e.typeUrl === CLUSTER);
    expect(ledger.map((e) => [e.name, e.state, e.error])).toEqual([['echo.default|v1', 'ACKED', undefined], ['echo.default|v2', 'NACKED', 'lb_policy is bad']]);
    expect(server.status.recentNacks()).toEqual([expect.objectContaining({ nodeId: 'grpc-client-1', resources: ['echo.default|v2'], version: cds.version_info })]);
    expect(server.status.clients()[0].types[CLUSTER]).toEqual(expect.objectContaining({ pending: false, lastError: expect.stringContaining('lb_policy is bad') }));
    expect(await registry.getSingleMetricAsString('weft_xds_nacks_total')).toMatch(/type="Cluster"} 1/);
    expect(await registry.getSingleMetricAsString('weft_xds_nacked_resources')).toMatch(/type="Cluster"} 1/);
    // Repeating the NACKed nonce (a subscription change carrying the old error) is not a second NACK.
    c.send({ type_url: CLUSTER, response_nonce: cds.nonce, version_info: cds.version_info, resource_names: names, error_detail: { code: 14, message: 'xDS response validation errors: [resource index 1: lb_policy is bad]' } });
    c.send({ type_url: ROUTE, resource_names: ['echo.default:50051'] });
    expect((await c.next()).type_url).toBe(ROUTE);
    expect(server.status.recentNacks()).toHaveLength(1);
  });

  test('content versions are the same from a restarted server', async () => {
    const c = open();
    c.send({ node: proxylessNode, type_url: CLUSTER, resource_names: ['echo.default|v1'] });
    const before = await c.next();
    c.close();
    await server.close();
    cache = new SnapshotCache();
    cache.setModel(model(['v1', 'v2'], { v1: 80, v2: 20 }));
    server = new AdsServer({ cache });
    port = await server.listen(0);
    const d = open();
    d.send({ node: proxylessNode, type_url: CLUSTER, resource_names: ['echo.default|v1'], version_info: before.version_info });
    const after = await d.next();
    expect(after.version_info).toBe(before.version_info);
    expect(after.resources).toEqual(before.resources);
  });

  test('sidecar: identified by user agent, wildcard LDS/CDS, self-registration hooks fire on connect and disconnect', async () => {
    const c = open();
    c.send({ node: sidecarNode, type_url: LISTENER, resource_names: [] });
    const lds = await c.next();
    expect(lds.resources!.map((r) => r.name)).toEqual(['outbound', 'inbound']);
    expect(connected).toEqual([expect.objectContaining({ id: 'web-v1-0', kind: 'sidecar', service: 'web', namespace: 'default', version: 'v1', endpoint: { address: '10.1.0.5', ports: { http: 15006 } } })]);
    c.close();
    await new Promise<void>((resolve) => {
      const check = () => (disconnected.length ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(disconnected[0].id).toBe('web-v1-0');
  });

  test('make-before-break: a removed cluster stays while an applied route uses it; routes wait for new clusters', async () => {
    const c = open();
    c.send({ node: sidecarNode, type_url: CLUSTER, resource_names: [] });
    const cds = await c.next();
    expect(cds.resources!.map((r) => r.name)).toEqual(['echo.default|v1', 'echo.default|v2', 'inbound|http']);
    c.send(ack(cds, []));
    c.send({ type_url: ROUTE, resource_names: ['outbound'] });
    const rds = await c.next();
    c.send(ack(rds, ['outbound']));
    c.send({ type_url: ENDPOINT, resource_names: ['echo.default|v1', 'echo.default|v2'] });
    const eds = await c.next();
    c.send(ack(eds, ['echo.default|v1', 'echo.default|v2']));

    // Remove v2: clusters are unchanged while the applied route still names v2, so the route goes first.
    cache.setModel(model(['v1']));
    const rds2 = await c.next();
    expect(rds2.type_url).toBe(ROUTE);
    expect(JSON.stringify(rds2.resources)).not.toContain('echo.default|v2');
    c.send(ack(rds2, ['outbound']));
    const cds2 = await c.next();
    expect(cds2.type_url).toBe(CLUSTER);
    expect(cds2.resources!.map((r) => r.name)).toEqual(['echo.default|v1', 'inbound|http']);

    // Add v3 with a route to it: the cluster goes first and the route waits for its ACK.
    c.send(ack(cds2, []));
    const eds2 = await c.next();
    expect(eds2.type_url).toBe(ENDPOINT);
    c.send(ack(eds2, ['echo.default|v1']));
    cache.setModel(model(['v1', 'v3'], { v1: 50, v3: 50 }));
    const cds3 = await c.next();
    expect(cds3.type_url).toBe(CLUSTER);
    expect(cds3.resources!.map((r) => r.name)).toContain('echo.default|v3');
    c.send({ type_url: ENDPOINT, response_nonce: eds2.nonce, version_info: eds2.version_info, resource_names: ['echo.default|v1', 'echo.default|v3'] });
    const eds3 = await c.next();
    expect(eds3.type_url).toBe(ENDPOINT); // not the route: CDS is still unanswered
    c.send(ack(cds3, []));
    c.send(ack(eds3, ['echo.default|v1', 'echo.default|v3']));
    const rds3 = await c.next();
    expect(rds3.type_url).toBe(ROUTE);
    expect(JSON.stringify(rds3.resources)).toContain('echo.default|v3');
  });

  test('size budget: EDS is split into several responses, CDS is refused with a clear error', async () => {
    await server.close();
    cache = new SnapshotCache();
    cache.setModel(model(['v1', 'v2'], undefined, 5));
    server = new AdsServer({ cache, maxResponseBytes: 700 });
    port = await server.listen(0);
    const c = open();
    c.send({ node: proxylessNode, type_url: ENDPOINT, resource_names: ['echo.default|v1', 'echo.default|v2'] });
    const a = await c.next();
    const b = await c.next();
    expect([a.resources!.length, b.resources!.length]).toEqual([1, 1]);
    expect(a.version_info).toBe(b.version_info);
    expect(Number(b.nonce)).toBe(Number(a.nonce) + 1);
    c.send({ type_url: CLUSTER, resource_names: ['echo.default|v1', 'echo.default|v2', 'web.default|v1'] });
    c.send({ type_url: LISTENER, resource_names: ['echo.default'] });
    expect((await c.next()).type_url).toBe(LISTENER);
    expect(server.status.clients()[0].types[CLUSTER].lastError).toMatch(/over the 700-byte budget/);
  });
});
