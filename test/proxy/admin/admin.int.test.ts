/** The admin endpoints over a real socket, with a per-proxy prom-client Registry. */
import { Registry } from 'prom-client';
import { AdminServer, isLoopbackAddress } from '../../../proxy/admin/server';
import { proxyMetrics, setConfigVersion } from '../../../proxy/admin/metrics';
import { get } from '../http/util';

let admin: AdminServer;
let port: number;
let ready: string | undefined = 'no config yet';
let shutdowns = 0;
const registry = new Registry();
const metrics = proxyMetrics(registry);

beforeAll(async () => {
  admin = new AdminServer({
    registry,
    notReadyReason: () => ready,
    configDump: () => ({ version: 'v7', clusters: new Map([['a', { names: new Set(['x']) }]]) }),
    shutdown: () => shutdowns++,
  });
  port = (await admin.listen(0)).port;
});
afterAll(() => admin.close());

test('/live is 200; /ready is 503 with the reason until ready', async () => {
  expect((await get(port, { path: '/live' })).status).toBe(200);
  const r = await get(port, { path: '/ready' });
  expect(r.status).toBe(503);
  expect(r.body).toContain('no config yet');
  ready = undefined;
  expect((await get(port, { path: '/ready' })).status).toBe(200);
});

test('/metrics serves this proxy registry in Prometheus text', async () => {
  setConfigVersion(metrics, 'v7');
  metrics.openConnections.set({ listener: 'outbound' }, 3);
  const r = await get(port, { path: '/metrics' });
  expect(r.status).toBe(200);
  expect(r.body).toContain('weft_proxy_config_info{version="v7"} 1');
  expect(r.body).toContain('weft_proxy_open_connections{listener="outbound"} 3');
});

test('/config_dump is JSON with Maps and Sets expanded', async () => {
  const r = await get(port, { path: '/config_dump' });
  expect(JSON.parse(r.body)).toEqual({ version: 'v7', clusters: { a: { names: ['x'] } } });
});

test('/shutdown needs POST and then calls shutdown once', async () => {
  expect((await get(port, { path: '/shutdown' })).status).toBe(405);
  expect(shutdowns).toBe(0);
  expect((await get(port, { path: '/shutdown', method: 'POST' })).status).toBe(202);
  expect(shutdowns).toBe(1);
});

test('isLoopbackAddress: 127/8, ::1 and v4-mapped 127/8 only', () => {
  for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
  for (const a of ['10.0.0.7', '::ffff:10.0.0.7', 'fe80::1', '0.0.0.0', undefined]) expect(isLoopbackAddress(a)).toBe(false);
});

test('sensitiveAllowed: refused peers get 403 on /config_dump and /shutdown, but /ready, /live, /metrics answer', async () => {
  let stops = 0;
  // the pod-IP case, on loopback: peers from 127.0.0.9 play "local", 127.0.0.1 plays the kubelet
  const open = new AdminServer({
    registry, notReadyReason: () => undefined, configDump: () => ({ secret: 'config' }), shutdown: () => stops++,
    sensitiveAllowed: (a) => a === '127.0.0.9' || a === '::ffff:127.0.0.9',
  });
  const p = (await open.listen(0)).port;
  try {
    for (const path of ['/ready', '/live', '/metrics']) expect((await get(p, { path })).status).toBe(200);
    const dump = await get(p, { path: '/config_dump' });
    expect(dump.status).toBe(403);
    expect(dump.body).not.toContain('secret');
    expect((await get(p, { path: '/shutdown', method: 'POST' })).status).toBe(403);
    expect(stops).toBe(0);
    expect((await get(p, { path: '/config_dump', localAddress: '127.0.0.9' })).status).toBe(200);
    expect((await get(p, { path: '/shutdown', method: 'POST', localAddress: '127.0.0.9' })).status).toBe(202);
    expect(stops).toBe(1);
  } finally {
    await open.close();
  }
});
