/**
 * Two real sidecars (runProxy) with static config and file identities: app → web sidecar →
 * mTLS → backend sidecar → app, for both sidecar transports; admin endpoints of a running proxy.
 */
import * as http from 'node:http';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { clientBootstrap, identityDir, idOf, makeCa, serverBootstrap } from './fixtures';
import { closeServer, get, listen } from '../http/util';

let app: http.Server;
let appPort: number;
let webDir: string;
let backendDir: string;
const proxies: RunningProxy[] = [];
const quiet = (): void => undefined;

let ca: Awaited<ReturnType<typeof makeCa>>;

beforeAll(async () => {
  ca = await makeCa();
  webDir = await identityDir(ca, 'web');
  backendDir = await identityDir(ca, 'backend');
  app = http.createServer((req, res) => res.end(JSON.stringify({ url: req.url, host: req.headers.host, traceparent: req.headers.traceparent ?? null })));
  appPort = await listen(app);
});

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  await closeServer(app);
});

test.each(['http1', 'http2'] as const)('web app → web sidecar → mTLS (%s) → backend sidecar → backend app', async (sidecarProtocol) => {
  const backend = await runProxy(serverBootstrap(appPort, backendDir), { log: quiet, sidecarProtocol });
  proxies.push(backend);
  const web = await runProxy(clientBootstrap(backend.ports.inbound, webDir), { log: quiet, sidecarProtocol });
  proxies.push(web);
  expect(web.notReadyReason()).toBeUndefined();
  const agent = new http.Agent({ keepAlive: true });
  for (let i = 0; i < 3; i++) {
    const r = await get(web.ports.outbound, { path: `/hello/${i}`, agent, headers: { host: 'backend' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ url: `/hello/${i}` });
  }
  agent.destroy();
  // unknown authority: the outbound stack answers with a reason, not a hang
  const miss = await get(web.ports.outbound, { path: '/', headers: { host: 'nope' } });
  expect(miss.status).toBe(404);
  expect(miss.headers['weft-error']).toBeDefined();
  // plaintext to the STRICT inbound listener is refused
  await expect(get(backend.ports.inbound, { path: '/', headers: { host: 'backend' } })).rejects.toThrow();
});

test('admin: /ready, /live, /metrics (golden + proxy metrics), /config_dump', async () => {
  const backend = await runProxy(serverBootstrap(appPort, backendDir), { log: quiet });
  proxies.push(backend);
  const web = await runProxy(clientBootstrap(backend.ports.inbound, webDir), { log: quiet });
  proxies.push(web);
  expect((await get(web.ports.outbound, { path: '/m', headers: { host: 'backend' } })).status).toBe(200);
  expect((await get(web.ports.admin, { path: '/ready' })).status).toBe(200);
  expect((await get(web.ports.admin, { path: '/live' })).status).toBe(200);
  const m = (await get(web.ports.admin, { path: '/metrics' })).body;
  expect(m).toContain('weft_proxy_config_info{version="static"} 1');
  expect(m).toMatch(/weft_proxy_certificate_expiry_timestamp_seconds\{identity="spiffe:\/\/weft.test\/ns\/default\/sa\/web"\} \d+/);
  expect(m).toMatch(/weft_proxy_connections_total\{listener="outbound"\} [1-9]/);
  const dump = JSON.parse((await get(web.ports.admin, { path: '/config_dump' })).body);
  expect(dump.version).toBe('static');
  expect(dump.identity.spiffeId).toBe(idOf('web'));
  expect(Object.keys(dump.config.clusters)).toEqual(['backend-v1']);
});

test('inbound authz (api/authz) runs on the normalized path and the verified peer identity', async () => {
  const authz = {
    defaultPolicy: 'allow',
    rules: [
      { id: 'default/backend#no-admin', action: 'DENY', from: [], to: [{ paths: ['/admin*'] }] },
      { id: 'default/backend#web-only', action: 'ALLOW', from: [{ principals: [idOf('web')] }], to: [] },
    ],
  };
  const backend = await runProxy(serverBootstrap(appPort, backendDir, {}, authz), { log: quiet });
  proxies.push(backend);
  const web = await runProxy(clientBootstrap(backend.ports.inbound, webDir), { log: quiet });
  proxies.push(web);
  expect((await get(web.ports.outbound, { path: '/ok', headers: { host: 'backend' } })).status).toBe(200);
  // path confusion is normalized before authz: /a/../admin/x is /admin/x and denied
  const denied = await get(web.ports.outbound, { path: '/a/../admin/x', headers: { host: 'backend' } });
  expect(denied.status).toBe(403);
  expect(String(denied.headers['weft-error'])).toMatch(/^denied/);
  // another mesh identity is not allowed by the ALLOW rule
  const other = await runProxy(clientBootstrap(backend.ports.inbound, await identityDir(ca, 'other')), { log: quiet });
  proxies.push(other);
  const r = await get(other.ports.outbound, { path: '/ok', headers: { host: 'backend' } });
  expect(r.status).toBe(403);
  expect(String(r.headers['weft-error'])).toMatch(/^denied/);
});
