/** The admin endpoints over a real socket, with a per-proxy prom-client Registry. */
import { Registry } from 'prom-client';
import { AdminServer } from '../../../proxy/admin/server';
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
