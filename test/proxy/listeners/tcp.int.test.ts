/**
 * Opaque TCP through two real sidecars: app → outbound TCP listener (from config) → mTLS
 * (ALPN weft-tcp) → inbound listener → TCP app; and the listener is closed when the config drops it.
 */
import * as net from 'node:net';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { emptyConfig } from '../../../proxy/config';
import { identityDir, idOf, makeCa } from '../main/fixtures';
import { closeServer, listen } from '../http/util';
import { freePort, staticCluster, TCP_PROXY as TCP } from './tcp-fixtures';

const proxies: RunningProxy[] = [];
let app: net.Server;
const appSockets = new Set<net.Socket>();

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  for (const s of appSockets) s.destroy();
  await closeServer(app);
});



function echo(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (out.length >= text.length + 5) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.write(text);
  });
}

test('app → outbound TCP listener → mTLS weft-tcp → inbound → TCP app, bytes counted', async () => {
  app = net.createServer((s) => {
    appSockets.add(s);
    s.on('close', () => appSockets.delete(s));
    s.on('data', (d) => s.write(`echo:${d}`));
  });
  const appPort = await listen(app);
  const ca = await makeCa();
  const server: Bootstrap = {
    node: { id: 'db-1', service: 'db', namespace: 'default', version: 'v1', serviceAccount: 'db' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { tcp: appPort } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, staticDir: await identityDir(ca, 'db') },
    staticResources: {
      listeners: [{
        name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        filter_chains: [{ name: 'inbound|tcp', filter_chain_match: { destination_port: { value: appPort } }, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP, stat_prefix: 'inbound|tcp', cluster: 'inbound|tcp' } }] }],
        metadata: { filter_metadata: { weft: { direction: 'inbound' } } },
      }],
      clusters: [staticCluster('inbound|tcp', appPort)],
    },
    drainTimeout: '1s',
  };
  const dbProxy = await runProxy(server, { log: () => undefined });
  proxies.push(dbProxy);
  const listenPort = await freePort();
  const client: Bootstrap = {
    node: { id: 'web-1', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, staticDir: await identityDir(ca, 'web') },
    staticResources: {
      listeners: [{
        name: 'outbound|db.default:5432', address: { socket_address: { address: '0.0.0.0', port_value: listenPort } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP, stat_prefix: 'db', cluster: 'db.default|v1' } }] }],
        metadata: { filter_metadata: { weft: { direction: 'outbound', protocol: 'tcp' } } },
      }],
      clusters: [staticCluster('db.default|v1', dbProxy.ports.inbound, idOf('db'))],
    },
    drainTimeout: '1s',
  };
  const web = await runProxy(client, { log: () => undefined });
  proxies.push(web);
  expect(await echo(listenPort, 'ping')).toBe('echo:ping');
  const metrics = await web.registry.metrics();
  expect(metrics).toContain('weft_proxy_tcp_bytes_total{listener="outbound|db.default:5432",direction="rx"} 4');
  expect(metrics).toContain('weft_proxy_tcp_bytes_total{listener="outbound|db.default:5432",direction="tx"} 9');

  // WHEN the config no longer has the listener THEN its port closes
  web.cell.set(emptyConfig('v2'));
  const refused = (): Promise<boolean> => new Promise((resolve) => {
    const s = net.connect(listenPort, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
  let closed = false;
  for (let i = 0; i < 100 && !closed; i++) closed = await refused();
  expect(closed).toBe(true);
});
