/**
 * startControlPlane(): a real local source over a manifest directory → buildModel → ADS, verdicts
 * written back through the source, the HTTP status server (/status, /metrics, /ready, /live), and
 * self-registration of a connecting sidecar as an endpoint.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { ENDPOINT, LISTENER } from '../../../api/xds/protos';
import { LocalSource } from '../../../control-plane/sources/local';
import { ControlPlane, startControlPlane } from '../../../control-plane/server';
import { RawAds } from './raw-ads';

const A = 'weft.dev/v1alpha1';
const get = (port: number, p: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: p }, (res) => {
    let body = '';
    res.on('data', (c) => { body += c; });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
  }).on('error', reject);
});

describe('startControlPlane', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cp-'));
  const dir = path.join(root, 'dist');
  const statusFile = path.join(root, 'status.json');
  let cp: ControlPlane;
  let ads: RawAds | undefined;

  beforeAll(async () => {
    fs.mkdirSync(dir);
    const docs = [
      { apiVersion: A, kind: 'MeshService', metadata: { name: 'echo', namespace: 'default' }, spec: { serviceAccount: 'echo', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }] } },
      { apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'broken', namespace: 'default' }, spec: { service: { name: 'echo' }, routes: [{ backends: [{ version: 'v9', weight: 100 }] }] } },
    ];
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), docs.map((d) => stringify(d)).join('---\n'));
    cp = await startControlPlane({ source: new LocalSource({ dir, statusFile, debounceMs: 10 }), port: 0, statusPort: 0 });
  });

  afterAll(async () => {
    ads?.close();
    await cp.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('ready after the first snapshot; verdicts reach the source and /status', async () => {
    expect(cp.ready()).toBe(true);
    expect((await get(cp.statusPort!, '/ready')).status).toBe(200);
    expect((await get(cp.statusPort!, '/live')).status).toBe(200);
    expect(cp.statuses().find((s) => s.name === 'broken')).toEqual(expect.objectContaining({ accepted: false, code: 'WEFT_ERR_MODEL_UNKNOWN_VERSION' }));
    const doc = JSON.parse((await get(cp.statusPort!, '/status')).body);
    expect(doc.resources.map((r: { name: string; accepted: boolean }) => [r.name, r.accepted])).toEqual(expect.arrayContaining([['echo', true], ['broken', false]]));
    const written = await new Promise<string>((resolve) => {
      const check = () => (fs.existsSync(statusFile) ? resolve(fs.readFileSync(statusFile, 'utf8')) : setTimeout(check, 10));
      check();
    });
    expect(written).toContain('WEFT_ERR_MODEL_UNKNOWN_VERSION');
    expect((await get(cp.statusPort!, '/nope')).status).toBe(404);
  });

  test('a connecting sidecar registers its endpoint through the source and is served it; metrics count it', async () => {
    ads = new RawAds(cp.port);
    ads.send({ node: { id: 'echo-v1-0', user_agent_name: 'weft-proxy', metadata: { service: 'echo', namespace: 'default', version: 'v1', endpoint: { address: '127.0.0.7', ports: { http: 15006 } } } }, type_url: ENDPOINT, resource_names: ['echo.default|v1'] });
    // The first answer may predate the registration; the endpoint arrives in a later push.
    for (;;) {
      const r = await ads.next(10_000);
      if (JSON.stringify(r.resources ?? []).includes('127.0.0.7')) break;
      ads.send({ type_url: ENDPOINT, response_nonce: r.nonce, version_info: r.version_info, resource_names: ['echo.default|v1'] });
    }
    const metrics = (await get(cp.statusPort!, '/metrics')).body;
    expect(metrics).toMatch(/weft_xds_connected_clients\{kind="sidecar"\} 1/);
    expect(cp.status.clients().map((c) => c.node.id)).toEqual(['echo-v1-0']);
  });

  test('two replicas over the same source serve identical versions (no leader, no shared state)', async () => {
    const cp2 = await startControlPlane({ source: new LocalSource({ dir, statusFile: path.join(root, 'status2.json'), debounceMs: 10 }), port: 0 });
    const a = new RawAds(cp.port);
    const b = new RawAds(cp2.port);
    try {
      const node = { id: 'grpc-1', user_agent_name: 'gRPC Node Pure JS', locality: {} };
      for (const c of [a, b]) c.send({ node, type_url: LISTENER, resource_names: ['echo.default'] });
      const [ra, rb] = await Promise.all([a.next(), b.next()]);
      expect(ra.version_info).toBe(rb.version_info);
      expect(ra.resources).toEqual(rb.resources);
    } finally {
      a.close();
      b.close();
      await cp2.stop();
    }
  });
});
