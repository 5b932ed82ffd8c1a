/**
 * TCP authorization end to end through two real sidecars per caller: the caller's app connects to
 * its sidecar's outbound TCP listener, which dials the db sidecar over mTLS; the db sidecar lets the
 * allowed principal's bytes through and closes the denied one's connection before dialling its app.
 */
import * as net from 'node:net';
import type { Bootstrap } from '../../../api/bootstrap';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { identityDir, idOf, makeCa } from '../main/fixtures';
import { closeServer, listen } from '../http/util';
import { echoUntilClosed, freePort, staticCluster, tcpFilter } from './tcp-fixtures';

const proxies: RunningProxy[] = [];
const apps: net.Server[] = [];
const appSockets = new Set<net.Socket>();
let accepted = 0;

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  for (const s of appSockets) s.destroy();
  await Promise.all(apps.map(closeServer));
});




/** A caller sidecar `sa` with one outbound TCP listener for db:5432 on `listenPort`. */
async function caller(ca: Awaited<ReturnType<typeof makeCa>>, sa: string, dbInbound: number, listenPort: number): Promise<RunningProxy> {
  const b: Bootstrap = {
    node: { id: `${sa}-1`, service: sa, namespace: 'default', version: 'v1', serviceAccount: sa },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, staticDir: await identityDir(ca, sa) },
    staticResources: {
      listeners: [{
        name: 'outbound|db.default:5432', address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
        filter_chains: [{ filters: tcpFilter('db.default|v1:pg') }],
        metadata: { filter_metadata: { weft: { direction: 'outbound', protocol: 'tcp', servicePort: 5432 } } },
      }],
      clusters: [staticCluster('db.default|v1:pg', dbInbound, idOf('db'))],
    },
    drainTimeout: '1s',
  };
  const p = await runProxy(b, { log: () => undefined });
  proxies.push(p);
  return p;
}

test('GIVEN an ALLOW for web and a DENY for batch on port 5432 THEN web reaches the app, batch is closed and the app never sees it', async () => {
  const app = net.createServer((c) => {
    accepted++;
    appSockets.add(c);
    c.on('close', () => appSockets.delete(c));
    c.on('data', (d) => c.write(`pg:${d}`));
  });
  apps.push(app);
  const pg = await listen(app);
  const ca = await makeCa();
  const logs: string[] = [];
  const authz = {
    defaultPolicy: 'allow',
    rules: [
      { id: 'default/db-authz#mesh', action: 'ALLOW', from: [{ principals: [idOf('web'), idOf('batch')] }], to: [] },
      { id: 'default/db-authz#no-batch', action: 'DENY', from: [{ principals: [idOf('batch')] }], to: [{ ports: [5432] }] },
    ],
  };
  const server: Bootstrap = {
    node: { id: 'db-1', service: 'db', namespace: 'default', version: 'v1', serviceAccount: 'db' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { pg } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, staticDir: await identityDir(ca, 'db') },
    staticResources: {
      listeners: [{
        name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        filter_chains: [{
          name: 'inbound|pg', filter_chain_match: { destination_port: { value: pg } }, filters: tcpFilter('inbound|pg'),
          metadata: { filter_metadata: { weft: { port: 'pg', servicePort: 5432, protocol: 'tcp' } } },
        }],
        metadata: { filter_metadata: { weft: { direction: 'inbound', authz } } },
      }],
      clusters: [staticCluster('inbound|pg', pg)],
    },
    drainTimeout: '1s',
  };
  const db = await runProxy(server, { log: (_l, msg) => logs.push(msg) });
  proxies.push(db);
  const webPort = await freePort();
  const batchPort = await freePort();
  await caller(ca, 'web', db.ports.inbound, webPort);
  await caller(ca, 'batch', db.ports.inbound, batchPort);

  expect(await echoUntilClosed(webPort, 'select 1')).toBe('pg:select 1');
  expect(accepted).toBe(1);
  expect(await echoUntilClosed(batchPort, 'select 2')).toBe('');
  expect(accepted).toBe(1);
  expect(logs.filter((l) => l.includes('inbound TCP connection denied'))).toEqual([
    expect.stringContaining(`denied_by_policy policy=default/db-authz#no-batch peer=${idOf('batch')} port=5432`),
  ]);
  // web still passes after the denial (the decision is per connection)
  expect(await echoUntilClosed(webPort, 'select 3')).toBe('pg:select 3');
  expect(accepted).toBe(2);
  const metrics = await db.registry.metrics();
  expect(metrics).toMatch(/weft_proxy_requests_total\{[^}]*route="tcp"[^}]*error="denied"[^}]*\} 1\b/);
});
