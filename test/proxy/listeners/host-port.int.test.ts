/**
 * Callers without `weft-port` (plaintext, proxyless) reach the inbound chain their Host port names:
 * a real sidecar (PERMISSIVE) with two HTTP service ports on one inbound port, plain HTTP clients.
 */
import * as http from 'node:http';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { authorityPort, chainByHostPort } from '../../../proxy/listeners/host-port';
import type { FilterChainConfig } from '../../../proxy/config';
import { identityDir, makeCa } from '../main/fixtures';
import { TYPES } from '../../support/proxy-fixtures';
import { closeServer, get, listen } from '../http/util';

let proxy: RunningProxy | undefined;
const apps: http.Server[] = [];

afterAll(async () => {
  await proxy?.shutdown();
  await Promise.all(apps.map(closeServer));
});

async function app(name: string): Promise<number> {
  const s = http.createServer((req, res) => res.end(`${name} weft-port=${req.headers['weft-port'] ?? '-'}`));
  apps.push(s);
  return listen(s);
}

const chain = (port: string, servicePort: number, targetPort: number) => {
  const cluster = `inbound|${port}`;
  return {
    name: cluster, filter_chain_match: { destination_port: { value: targetPort } },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': TYPES.HCM, stat_prefix: cluster,
      route_config: { name: cluster, virtual_hosts: [{ name: cluster, domains: ['*'], routes: [{ name: cluster, match: { prefix: '' }, route: { cluster } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPES.ROUTER } }],
    } }],
    metadata: { filter_metadata: { weft: { port, servicePort, targetPort, protocol: 'http' } } },
  };
};
const staticCluster = (name: string, port: number) => ({
  name, type: 'STATIC', lb_policy: 'ROUND_ROBIN',
  load_assignment: { cluster_name: name, endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
});

test('GIVEN no weft-port THEN the Host port picks the chain: service port, else target port, else the first chain; weft-port still wins', async () => {
  const main = await app('main');
  const admin = await app('admin');
  const ca = await makeCa();
  const b: Bootstrap = {
    node: { id: 'backend-1', service: 'backend', namespace: 'default', version: 'v1', serviceAccount: 'backend' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: main, admin } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: false, staticDir: await identityDir(ca, 'backend') },
    staticResources: {
      listeners: [{
        name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        filter_chains: [chain('http', 80, 18080), chain('admin', 9090, 19090)],
        metadata: { filter_metadata: { weft: { direction: 'inbound' } } },
      }],
      clusters: [staticCluster('inbound|http', main), staticCluster('inbound|admin', admin)],
    },
    drainTimeout: '1s',
  };
  proxy = await runProxy(b, { log: () => undefined });
  const port = proxy.ports.inbound;
  const call = async (host: string, headers: Record<string, string> = {}) => (await get(port, { path: '/', headers: { host, ...headers } })).body;
  expect(await call('backend:9090')).toBe('admin weft-port=-'); // before: the first chain (main)
  expect(await call('backend.default.svc.cluster.local:9090')).toBe('admin weft-port=-');
  expect(await call('10.1.2.3:19090')).toBe('admin weft-port=-'); // pod IP and target port
  expect(await call('backend')).toBe('main weft-port=-'); // no port: http's 80, the main service port
  expect(await call('backend:80')).toBe('main weft-port=-');
  expect(await call(`127.0.0.1:${port}`)).toBe('main weft-port=-'); // the sidecar's own port: first chain
  expect(await call('backend:9090', { 'weft-port': '80' })).toBe('main weft-port=-'); // the header wins, and is stripped
});

test('GIVEN authorities THEN authorityPort reads the explicit port or the scheme default', () => {
  expect(authorityPort('svc:9090', 'http')).toBe(9090);
  expect(authorityPort('svc', 'http')).toBe(80);
  expect(authorityPort('svc', 'https')).toBe(443);
  expect(authorityPort('[::1]:8443', 'https')).toBe(8443);
  expect(authorityPort('[::1]', 'http')).toBe(80);
  for (const bad of ['svc:0', 'svc:70000', 'svc:x', 'a:b:c', 'svc:123456']) expect(authorityPort(bad, 'http')).toBeUndefined();
  const c = (name: string, servicePort?: number, destinationPort?: number) => ({ name, servicePort, destinationPort, routeTable: name, tcp: false }) as FilterChainConfig;
  // a port that is one chain's service port and another's target port: the service port wins
  const chains = [c('a', 80, 8080), c('b', 8080, 9000)];
  expect(chainByHostPort(chains, 'svc:8080', 'http')?.name).toBe('b');
  expect(chainByHostPort(chains, 'svc:9000', 'http')?.name).toBe('b');
  expect(chainByHostPort(chains, 'svc:1', 'http')).toBeUndefined();
});
