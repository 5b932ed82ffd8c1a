/**
 * `weft proxy-status` against a real running control plane (startControlPlane with the local source
 * on a temp dir) and real ADS streams over gRPC: a sidecar that self-registers its endpoint and a
 * proxyless client that NACKs RDS.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../api/xds/protos';
import { proxyStatus } from '../../cli/commands/proxy-status';
import { ControlPlane, startControlPlane } from '../../control-plane/server';
import { InstrumentedSource } from '../../control-plane/sources/instrument';
import { LocalSource } from '../../control-plane/sources/local';
import { Registry } from 'prom-client';
import { TestAdsClient } from './ads-client';

const MESH = `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  trustDomain: shop.local
  defaultMtlsMode: PERMISSIVE
  defaultInboundPolicy: allow
  proxyImage: weft/proxy:dev
  controlPlaneImage: weft/cp:dev
  controlPlane: { namespace: weft-system, service: weft-control-plane, xdsPort: 15010, caPort: 15012 }
  certificateTtl: 24h
---
apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: reviews, namespace: shop }
spec:
  serviceAccount: reviews
  interception: explicit
  ports: [{ name: grpc, port: 9090, protocol: grpc }]
  versions: [{ name: v1, replicas: 1 }]
`;

let root: string;
let cp: ControlPlane;
const clients: TestAdsClient[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-proxy-status-'));
  await mkdir(join(root, 'dist'));
  await writeFile(join(root, 'dist', 'mesh.yaml'), MESH);
  const registry = new Registry();
  const source = new InstrumentedSource(new LocalSource({ dir: join(root, 'dist'), statusFile: join(root, '.weft', 'status.json'), debounceMs: 20 }), 'local', registry);
  cp = await startControlPlane({ source, port: 0, host: '127.0.0.1', statusPort: 0, metricsRegistry: registry });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cp?.stop();
  await rm(root, { recursive: true, force: true });
});

test('lists connected proxies with ACKed versions per type; a NACK shows its text and fails the exit code', async () => {
  const target = `127.0.0.1:${cp.port}`;
  const sidecar = new TestAdsClient(target, {
    id: 'reviews-v1-0',
    user_agent_name: 'weft-proxy',
    locality: {},
    metadata: { service: 'reviews', namespace: 'shop', version: 'v1', endpoint: { address: '127.0.0.1', ports: { grpc: 15006 } } },
  });
  clients.push(sidecar);
  sidecar.start();
  await sidecar.until(() => sidecar.acked.has(LISTENER) && sidecar.acked.has(CLUSTER));

  // A proxyless gRPC client: it sees the sidecar's self-registered endpoint through EDS, and rejects RDS.
  const grpcClient = new TestAdsClient(target, { id: 'grpc-client-1', user_agent_name: 'gRPC Node Pure JS', locality: {} }, (t) => (t === ROUTE ? 'xDS response validation errors: [resource index 0: weighted_clusters sum of weights is 0]' : undefined));
  clients.push(grpcClient);
  grpcClient.start();
  await grpcClient.until(() => JSON.stringify(grpcClient.received.get(ENDPOINT)?.resources ?? []).includes('127.0.0.1') && grpcClient.received.has(ROUTE));
  expect(JSON.stringify(grpcClient.received.get(ENDPOINT)!.resources)).toContain('15006');

  // The server processes the NACK asynchronously: poll the status endpoint, bounded.
  let result = await proxyStatus({ url: `http://127.0.0.1:${cp.statusPort}` });
  for (let i = 0; i < 100 && result.nacks === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    result = await proxyStatus({ url: `http://127.0.0.1:${cp.statusPort}` });
  }
  expect(result.exitCode).toBe(1);
  expect(result.rows.map((r) => [r.id, r.kind, r.service])).toEqual([
    ['grpc-client-1', 'proxyless', '-'],
    ['reviews-v1-0', 'sidecar', 'shop/reviews@v1'],
  ]);
  const [proxyless, side] = result.rows;
  expect(proxyless.types.RDS).toMatch(/^NACK/);
  expect(proxyless.errors.RDS).toBe('xDS response validation errors: [resource index 0: weighted_clusters sum of weights is 0]');
  // The ledger names the rejected resource (gRFC A46: the others of that response were applied).
  expect(proxyless.nackedResources.RDS).toEqual([grpcClient.received.get(ROUTE)!.resources[0].name]);
  expect(proxyless.types.LDS).toBe(`ACK ${grpcClient.acked.get(LISTENER)!.slice(0, 12)}`);
  expect(proxyless.types.CDS).toMatch(/^ACK /);
  expect(proxyless.types.EDS).toMatch(/^ACK /);
  expect(side.types.LDS).toMatch(/^ACK /);
  expect(side.types.CDS).toMatch(/^ACK /);
  expect(Object.keys(side.errors)).toEqual([]);
  expect(new Date(side.connectedAt).getTime()).toBeGreaterThan(0);
  // The table: a header, one line per proxy, then the NACK texts.
  const lines = result.text.split('\n');
  expect(lines[0]).toMatch(/^PROXY\s+KIND\s+SERVICE\s+LDS\s+RDS\s+CDS\s+EDS\s+CONNECTED SINCE$/);
  expect(lines[1]).toMatch(/^grpc-client-1\s+proxyless\s+-\s+ACK \S+\s+NACK/);
  expect(result.text).toContain(`NACKs:\n  grpc-client-1 RDS: xDS response validation errors: [resource index 0: weighted_clusters sum of weights is 0]\n    rejected: ${String(grpcClient.received.get(ROUTE)!.resources[0].name)}`);

  const json = await proxyStatus({ url: `http://127.0.0.1:${cp.statusPort}`, json: true });
  const parsed = JSON.parse(json.text) as { proxies: { id: string; types: Record<string, string> }[]; recentNacks: { nodeId: string; error: string }[] };
  expect(parsed.proxies.map((p) => p.id)).toEqual(['grpc-client-1', 'reviews-v1-0']);
  expect(parsed.recentNacks.some((n) => n.nodeId === 'grpc-client-1' && n.error.includes('sum of weights is 0'))).toBe(true);
  expect(json.exitCode).toBe(1);
});

test('all ACKed means exit code 0; the sidecar leaving removes it from the table', async () => {
  clients.pop()!.close(); // the NACKing client goes away
  let result = await proxyStatus({ url: `http://127.0.0.1:${cp.statusPort}` });
  for (let i = 0; i < 100 && result.rows.length !== 1; i++) {
    await new Promise((r) => setTimeout(r, 20));
    result = await proxyStatus({ url: `http://127.0.0.1:${cp.statusPort}` });
  }
  expect(result.rows.map((r) => r.id)).toEqual(['reviews-v1-0']);
  expect(result.exitCode).toBe(0);
});

test('a rejected custom resource is flagged with its code and what stays in force, and fails the exit code', async () => {
  const url = `http://127.0.0.1:${cp.statusPort}`;
  const route = (v1: number) => `apiVersion: weft.dev/v1alpha1
kind: CanaryRoute
metadata: { name: reviews-canary, namespace: shop }
spec:
  service: { name: reviews }
  routes: [{ backends: [{ version: v1, weight: ${v1} }] }]
`;
  await writeFile(join(root, 'dist', 'route.yaml'), route(100));
  await until(async () => (await proxyStatus({ url })).exitCode === 0 && cp.statuses().some((s) => s.kind === 'CanaryRoute' && s.accepted));
  await writeFile(join(root, 'dist', 'route.yaml'), route(60));
  let result = await proxyStatus({ url });
  await until(async () => (result = await proxyStatus({ url })).rejected.length === 1);
  expect(result.exitCode).toBe(1);
  expect(result.rejected[0]).toMatchObject({ kind: 'CanaryRoute', namespace: 'shop', name: 'reviews-canary', code: 'WEFT_ERR_MODEL_INVALID_WEIGHTS', inForce: 'last-accepted' });
  expect(result.text).toMatch(/\nREJECTED resources .*\n\s+RESOURCE\s+CODE\s+IN FORCE\n\s+CanaryRoute shop\/reviews-canary\s+WEFT_ERR_MODEL_INVALID_WEIGHTS\s+last accepted version\n/);
  const json = JSON.parse((await proxyStatus({ url, json: true })).text) as { rejected: { code: string }[] };
  expect(json.rejected.map((r) => r.code)).toEqual(['WEFT_ERR_MODEL_INVALID_WEIGHTS']);
  await rm(join(root, 'dist', 'route.yaml'));
  await until(async () => (await proxyStatus({ url })).rejected.length === 0);
});

/** Polls `cond` every 20 ms, at most 200 times. */
async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

test('an unreachable control plane is a coded error, not an empty table', async () => {
  await expect(proxyStatus({ url: 'http://127.0.0.1:1', timeoutMs: 2000 })).rejects.toMatchObject({ code: 'WEFT_ERR_PROXY_STATUS_UNREACHABLE', exitCode: 2 });
});
