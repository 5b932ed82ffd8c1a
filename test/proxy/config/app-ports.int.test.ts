/** Inbound app clusters go to the bootstrap's ports.app, not the service's targetPort (several replicas on one host). */
import * as http from 'node:http';
import { ConfigCell, remapAppPorts, type ProxyConfig } from '../../../proxy/config';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { serverBootstrap } from '../main/fixtures';
import { closeServer, get, listen } from '../http/util';

const cluster = (name: string, port: number) => ({ name, staticEndpoints: [{ address: '127.0.0.1', port, weight: 1, healthy: true, meshed: false }] });
const config = (clusters: ReturnType<typeof cluster>[]) => ({ version: 'v', listeners: new Map(), routes: new Map(), endpoints: new Map(), inlineRouteNames: new Set(), clusters: new Map(clusters.map((c) => [c.name, c])) }) as unknown as ProxyConfig;

test('inbound|<port> clusters point at the app port; others untouched; unchanged config is the same object', () => {
  const c = config([cluster('inbound|http', 9080), cluster('outbound|9080||reviews.bookinfo', 9080)]);
  const out = remapAppPorts(c, { http: 41000 });
  expect(out.clusters.get('inbound|http')!.staticEndpoints![0].port).toBe(41000);
  expect(out.clusters.get('outbound|9080||reviews.bookinfo')).toBe(c.clusters.get('outbound|9080||reviews.bookinfo'));
  expect(remapAppPorts(out, { http: 41000 })).toBe(out);
});

test('ConfigCell transform applies to the initial config and every set, and listeners see the transformed one', () => {
  const cell = new ConfigCell(config([cluster('inbound|http', 1)]), { transform: (c) => remapAppPorts(c, { http: 2 }) });
  expect(cell.get().clusters.get('inbound|http')!.staticEndpoints![0].port).toBe(2);
  const seen: number[] = [];
  cell.onChange((next) => seen.push(next.clusters.get('inbound|http')!.staticEndpoints![0].port));
  cell.set(config([cluster('inbound|http', 3)]));
  expect(seen).toEqual([2]);
  expect(cell.get().clusters.get('inbound|http')!.staticEndpoints![0].port).toBe(2);
});

describe('runProxy', () => {
  let app: http.Server;
  let proxy: RunningProxy | undefined;
  afterAll(async () => {
    await proxy?.shutdown();
    await closeServer(app);
  });

  test('an inbound request reaches the app on ports.app although the cluster says the targetPort', async () => {
    app = http.createServer((_req, res) => res.end('from the replica app'));
    const appPort = await listen(app);
    const b = serverBootstrap(1, '', { identity: { trustDomain: 'weft.test', required: false } });
    proxy = await runProxy({ ...b, ports: { ...b.ports, app: { http: appPort } } }, { log: () => undefined });
    const r = await get(proxy.ports.inbound, { path: '/' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('from the replica app');
  });
});
