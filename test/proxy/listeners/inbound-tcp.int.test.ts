/**
 * Inbound opaque TCP picks its chain by the service port the caller's sidecar names in the SNI:
 * two sidecars over mTLS, two TCP service ports behind one inbound port, each reaching its own app.
 */
import * as net from 'node:net';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { parseXds } from '../../../proxy/config';
import { inboundTcpChain, servicePortOfServerName, tcpServerName } from '../../../proxy/listeners/inbound-tcp';
import { identityDir, idOf, makeCa } from '../main/fixtures';
import { closeServer, listen } from '../http/util';
import { echoUntilClosed, freePort, staticCluster, tcpFilter } from './tcp-fixtures';

const proxies: RunningProxy[] = [];
const apps: net.Server[] = [];
const appSockets = new Set<net.Socket>();

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  for (const s of appSockets) s.destroy();
  await Promise.all(apps.map(closeServer));
});


async function echoApp(name: string): Promise<number> {
  const s = net.createServer((c) => {
    appSockets.add(c);
    c.on('close', () => appSockets.delete(c));
    c.on('data', (d) => c.write(`${name}:${d}`));
  });
  apps.push(s);
  return listen(s);
}



test('GIVEN two TCP service ports on one inbound port THEN each outbound TCP listener reaches its own app (SNI names the service port)', async () => {
  const pg = await echoApp('pg');
  const redis = await echoApp('redis');
  const ca = await makeCa();
  const chain = (port: string, servicePort: number, appPort: number) => ({
    name: `inbound|${port}`, filter_chain_match: { destination_port: { value: appPort } }, filters: tcpFilter(`inbound|${port}`),
    metadata: { filter_metadata: { weft: { port, servicePort, protocol: 'tcp' } } },
  });
  const server: Bootstrap = {
    node: { id: 'db-1', service: 'db', namespace: 'default', version: 'v1', serviceAccount: 'db' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { pg, redis } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, staticDir: await identityDir(ca, 'db') },
    staticResources: {
      listeners: [{
        name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        // pg first: the old rule (first TCP chain) would send redis traffic to pg
        filter_chains: [chain('pg', 5432, pg), chain('redis', 6379, redis)],
        metadata: { filter_metadata: { weft: { direction: 'inbound' } } },
      }],
      clusters: [staticCluster('inbound|pg', pg), staticCluster('inbound|redis', redis)],
    },
    drainTimeout: '1s',
  };
  const db = await runProxy(server, { log: () => undefined });
  proxies.push(db);
  const pgPort = await freePort();
  const redisPort = await freePort();
  const unknownPort = await freePort();
  const outbound = (servicePort: number, listenPort: number, cluster: string) => ({
    name: `outbound|db.default:${servicePort}`, address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
    filter_chains: [{ filters: tcpFilter(cluster) }],
    metadata: { filter_metadata: { weft: { direction: 'outbound', protocol: 'tcp', servicePort } } },
  });
  const client: Bootstrap = {
    node: { id: 'web-1', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, staticDir: await identityDir(ca, 'web') },
    staticResources: {
      listeners: [outbound(5432, pgPort, 'db.default|v1:pg'), outbound(6379, redisPort, 'db.default|v1:redis'), outbound(7777, unknownPort, 'db.default|v1:pg')],
      clusters: [staticCluster('db.default|v1:pg', db.ports.inbound, idOf('db')), staticCluster('db.default|v1:redis', db.ports.inbound, idOf('db'))],
    },
    drainTimeout: '1s',
  };
  const web = await runProxy(client, { log: () => undefined });
  proxies.push(web);
  expect(await echoUntilClosed(redisPort, 'get k')).toBe('redis:get k');
  expect(await echoUntilClosed(pgPort, 'select 1')).toBe('pg:select 1');
  expect(await echoUntilClosed(redisPort, 'again')).toBe('redis:again');
  // a service port the callee does not serve: the callee closes the connection, no app sees bytes
  expect(await echoUntilClosed(unknownPort, 'hello')).toBe('');
});

test('GIVEN SNI values THEN only <port>.weft-tcp.invalid names a port, and chain selection follows the rule', () => {
  expect(servicePortOfServerName(tcpServerName(6379))).toBe(6379);
  for (const bad of [undefined, null, false, '', 'db.default.svc', '0.weft-tcp.invalid', '70000.weft-tcp.invalid', 'x1.weft-tcp.invalid']) {
    expect(servicePortOfServerName(bad as string | undefined)).toBeUndefined();
  }
  const TCPC = (name: string, servicePort?: number) => ({ name, filter_chain_match: { destination_port: { value: 9 } }, filters: tcpFilter(name), ...(servicePort ? { metadata: { filter_metadata: { weft: { servicePort } } } } : {}) });
  const lst = (chains: unknown[]) => parseXds({ listeners: [{ name: 'inbound', traffic_direction: 'INBOUND', filter_chains: chains }] }).listeners.get('inbound');
  const declared = lst([TCPC('a', 5432), TCPC('b', 6379)]);
  expect(inboundTcpChain(declared, 6379)?.name).toBe('b');
  expect(inboundTcpChain(declared, 5432)?.name).toBe('a');
  expect(inboundTcpChain(declared, 1234)).toBeUndefined();
  expect(inboundTcpChain(declared, undefined)?.name).toBe('a');
  const legacy = lst([TCPC('a'), TCPC('b')]);
  expect(inboundTcpChain(legacy, 6379)?.name).toBe('a');
});
