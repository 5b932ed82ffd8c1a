/**
 * Shared responses with a raw grpc-js stream: sidecars of one service get the same encoded response
 * (same nonce) for the same content, yet no stream ever sees a nonce twice, stale nonces stay
 * stale, and a change reaches every stream with only the type that changed.
 */
import { buildModel } from '../../../api/build-model';
import type { WeftResource } from '../../../api/resources';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../../api/xds/protos';
import { AdsServer } from '../../../control-plane/xds/ads-server';
import { SnapshotCache } from '../../../control-plane/xds/cache';
import { ack, RawAds } from './raw-ads';

const A = 'weft.dev/v1alpha1';
const mesh = (weight: number) => buildModel([
  { apiVersion: A, kind: 'MeshService', metadata: { name: 'echo', namespace: 'default' }, spec: { serviceAccount: 'echo', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }] } },
  { apiVersion: A, kind: 'MeshService', metadata: { name: 'web', namespace: 'default' }, spec: { serviceAccount: 'web', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }] } },
  { apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'split', namespace: 'default' }, spec: { service: { name: 'echo' }, routes: [{ backends: [{ version: 'v1', weight: 100 - weight }, { version: 'v2', weight }] }] } },
] as WeftResource<unknown>[], []).model;
const sidecar = (id: string) => ({ id, user_agent_name: 'weft-proxy', metadata: { service: 'web', namespace: 'default', version: 'v1' } });

describe('shared responses', () => {
  let server: AdsServer;
  let cache: SnapshotCache;
  let port: number;
  const clients: RawAds[] = [];
  const open = () => { const c = new RawAds(port); clients.push(c); return c; };

  beforeEach(async () => {
    cache = new SnapshotCache();
    cache.setModel(mesh(20));
    server = new AdsServer({ cache });
    port = await server.listen(0);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  test('two sidecars of one service get the same RDS response; a resend on one gets a newer nonce; the old one is stale', async () => {
    const a = open();
    const b = open();
    a.send({ node: sidecar('a'), type_url: ROUTE, resource_names: ['outbound'] });
    const ra = await a.next();
    b.send({ node: sidecar('b'), type_url: ROUTE, resource_names: ['outbound'] });
    const rb = await b.next();
    expect(rb.nonce).toBe(ra.nonce);
    expect(rb.version_info).toBe(ra.version_info);
    expect(rb.resources).toEqual(ra.resources);
    // b subscribes to one more name: answered with the same content under a new, larger nonce.
    b.send({ type_url: ROUTE, response_nonce: rb.nonce, version_info: rb.version_info, resource_names: ['outbound', 'other'] });
    const rb2 = await b.next();
    expect(rb2.version_info).toBe(rb.version_info);
    expect(Number(rb2.nonce)).toBeGreaterThan(Number(rb.nonce));
    // A NACK on the older nonce is stale now: ignored (no NACK recorded), the current one is ACKed.
    b.send({ ...ack(rb, ['outbound']), error_detail: { code: 3, message: 'late' } });
    b.send(ack(rb2, ['outbound', 'other']));
    b.send({ type_url: LISTENER, resource_names: [] });
    expect((await b.next()).type_url).toBe(LISTENER);
    expect(server.status.recentNacks()).toEqual([]);
    expect(server.status.clients().find((c) => c.node.id === 'b')!.types[ROUTE]).toEqual(expect.objectContaining({ ackedVersion: rb.version_info, sentNonce: rb2.nonce, pending: false }));
    // a still holds the first nonce as current: its ACK counts.
    a.send(ack(ra, ['outbound']));
    a.send({ type_url: LISTENER, resource_names: [] });
    expect((await a.next()).type_url).toBe(LISTENER);
    expect(server.status.clients().find((c) => c.node.id === 'a')!.types[ROUTE]).toEqual(expect.objectContaining({ ackedVersion: ra.version_info, sentNonce: ra.nonce }));
  });

  test('a route change re-sends only RDS, the same bytes and nonce to every sidecar', async () => {
    const streams = [open(), open(), open()];
    const rdsBefore: string[] = [];
    for (const [i, c] of streams.entries()) {
      c.send({ node: sidecar(`s${i}`), type_url: CLUSTER, resource_names: [] });
      const cds = await c.next();
      c.send(ack(cds, []));
      c.send({ type_url: ENDPOINT, resource_names: ['echo.default|v1', 'echo.default|v2', 'web.default|v1'] });
      const eds = await c.next();
      c.send(ack(eds, ['echo.default|v1', 'echo.default|v2', 'web.default|v1']));
      c.send({ type_url: LISTENER, resource_names: [] });
      const lds = await c.next();
      c.send(ack(lds, []));
      c.send({ type_url: ROUTE, resource_names: ['outbound'] });
      const rds = await c.next();
      expect(rds.type_url).toBe(ROUTE);
      rdsBefore.push(rds.version_info);
      c.send(ack(rds, ['outbound']));
    }
    cache.setModel(mesh(50));
    const after = await Promise.all(streams.map((c) => c.next()));
    expect(after.map((r) => r.type_url)).toEqual([ROUTE, ROUTE, ROUTE]);
    expect(new Set(after.map((r) => r.nonce)).size).toBe(1);
    expect(after[0].version_info).not.toBe(rdsBefore[0]);
    expect(JSON.stringify(after[0].resources)).toContain('"weight":{"value":50}');
    for (const [i, c] of streams.entries()) c.send(ack(after[i], ['outbound']));
    // Nothing else follows: CDS/EDS/LDS are unchanged by content.
    streams[0].send({ type_url: ROUTE, response_nonce: after[0].nonce, version_info: after[0].version_info, resource_names: ['outbound', 'other'] });
    const next = await streams[0].next();
    expect(next.type_url).toBe(ROUTE);
    expect(streams.map((c) => c.pending())).toEqual([0, 0, 0]);
  });
});
