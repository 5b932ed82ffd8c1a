/**
 * Write backpressure end to end: a client that stops reading (its HTTP/2 window fills) holds one
 * response, yet other clients are still served (the stuck write stops counting against the budget).
 */
import * as http2 from 'http2';
import { buildModel } from '../../../api/build-model';
import type { WeftResource } from '../../../api/resources';
import { encodeResource } from '../../../api/xds/codec';
import { ENDPOINT } from '../../../api/xds/protos';
import { AdsServer } from '../../../control-plane/xds/ads-server';
import { SnapshotCache } from '../../../control-plane/xds/cache';
import { RawAds } from './raw-ads';

const A = 'weft.dev/v1alpha1';
const REQ = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
const PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const model = buildModel([
  { apiVersion: A, kind: 'MeshService', metadata: { name: 'echo', namespace: 'default' }, spec: { serviceAccount: 'echo', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }] } },
] as WeftResource<unknown>[], Array.from({ length: 4000 }, (_, i) => ({ service: 'echo', namespace: 'default', version: 'v1', address: `10.0.${i >> 8}.${i & 255}`, ports: { http: 8080 }, ready: true, instance: `e${i}`, meshed: true }))).model;
const node = (id: string) => ({ id, user_agent_name: 'weft-proxy', metadata: { service: 'echo', namespace: 'default', version: 'v1' } });

describe('write backpressure', () => {
  let server: AdsServer;
  let port: number;
  let session: http2.ClientHttp2Session | undefined;
  let ok: RawAds | undefined;

  beforeEach(async () => {
    const cache = new SnapshotCache();
    cache.setModel(model);
    // A budget smaller than one response: only one write may be in flight at a time.
    server = new AdsServer({ cache, maxBytesInFlight: 1 });
    port = await server.listen(0);
  });

  afterEach(async () => {
    ok?.close();
    session?.destroy();
    await server.close(100);
  });

  test('a client that does not read does not stall the others', async () => {
    // The stuck client: a raw HTTP/2 stream that asks for a ~200 KB CLA and never reads it.
    session = http2.connect(`http://127.0.0.1:${port}`);
    const stuck = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
    stuck.pause();
    const body = encodeResource(REQ, { node: node('stuck'), type_url: ENDPOINT, resource_names: ['echo.default|v1'] });
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    stuck.write(frame);
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (server.connectedNodes().length === 1) { clearInterval(t); resolve(); } }, 10); });

    ok = new RawAds(port);
    ok.send({ node: node('ok'), type_url: ENDPOINT, resource_names: ['echo.default|v1'] });
    const r = await ok.next(10_000);
    expect(r.type_url).toBe(ENDPOINT);
    expect(JSON.stringify(r.resources).length).toBeGreaterThan(100_000);
    // The stuck stream's response was sent to it (pending, never ACKed).
    expect(server.status.clients().find((c) => c.node.id === 'stuck')!.types[ENDPOINT].pending).toBe(true);
  });
});
