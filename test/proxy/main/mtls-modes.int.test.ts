/**
 * Per-port mTLS modes: with one STRICT and one PERMISSIVE port the transport accepts plaintext
 * (identity.required is false), and the inbound stack refuses plaintext to the STRICT port only.
 */
import * as http from 'node:http';
import type { Bootstrap } from '../../../api/bootstrap';
import { FILTER } from '../../../api/xds/util';
import { TYPES } from '../../../api/xds/protos';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { closeServer, get, listen } from '../http/util';

const router = { name: FILTER.ROUTER, typed_config: { '@type': TYPES.ROUTER } };
const chain = (name: string, servicePort: number, mtlsMode: string) => ({
  name: `inbound|${name}`,
  filters: [{
    name: FILTER.HCM,
    typed_config: {
      '@type': TYPES.HCM, stat_prefix: name,
      route_config: { name: `inbound|${name}`, virtual_hosts: [{ name, domains: ['*'], routes: [{ name, match: { prefix: '' }, route: { cluster: `inbound|${name}` } }] }] },
      http_filters: [router],
    },
  }],
  metadata: { filter_metadata: { weft: { port: name, servicePort, mtlsMode } } },
});
const cluster = (name: string, port: number) => ({
  name: `inbound|${name}`, type: 'STATIC', lb_policy: 'ROUND_ROBIN',
  load_assignment: { cluster_name: `inbound|${name}`, endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
});

let app: http.Server;
let proxy: RunningProxy | undefined;
afterAll(async () => {
  await proxy?.shutdown();
  await closeServer(app);
});

test('plaintext reaches the PERMISSIVE port and is denied (403, mtls-strict) on the STRICT one', async () => {
  app = http.createServer((req, res) => res.end(`app saw ${req.url}`));
  const appPort = await listen(app);
  const b: Bootstrap = {
    node: { id: 'backend-1', service: 'backend', namespace: 'default', version: 'v1', serviceAccount: 'backend' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { open: appPort, locked: appPort } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: false },
    staticResources: {
      listeners: [{
        name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        filter_chains: [chain('open', 8080, 'PERMISSIVE'), chain('locked', 9090, 'STRICT')],
        metadata: { filter_metadata: { weft: { direction: 'inbound' } } },
      }],
      clusters: [cluster('open', appPort), cluster('locked', appPort)],
    },
    drainTimeout: '200ms',
  };
  proxy = await runProxy(b, { log: () => undefined });
  const open = await get(proxy.ports.inbound, { path: '/a', headers: { 'weft-port': '8080' } });
  expect(open.status).toBe(200);
  expect(open.body).toBe('app saw /a');
  const locked = await get(proxy.ports.inbound, { path: '/b', headers: { 'weft-port': '9090' } });
  expect(locked.status).toBe(403);
  expect(locked.headers['weft-error']).toMatch(/mtls-strict/);
});
