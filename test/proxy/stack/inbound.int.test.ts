/**
 * buildInboundHandler against REAL local app servers on 127.0.0.1:0: the filter chain is chosen by
 * destination port, authorization denials become 403 / PERMISSION_DENIED, the listener's rate
 * limit answers 429, and allowed requests reach the app through its STATIC cluster.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { parseXds } from '../../../proxy/config';
import { buildInboundHandler } from '../../../proxy/inbound/stack';
import type { StackHandler } from '../../../proxy/outbound/stack';
import type { AuthzDecision } from '../../../proxy/layers/authz';
import { setFact } from '../../../proxy/stack/meta';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { TYPES, makeRequest, readBody } from '../../support/proxy-fixtures';

const servers: http.Server[] = [];
const ports: number[] = [];
const clients = new EndpointClients();
let stack: StackHandler;
const decisions: string[] = [];

function inboundResources(appPorts: number[]) {
  return {
    listeners: [{
      name: 'inbound',
      address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
      filter_chains: appPorts.map((p, i) => ({
        name: `inbound|p${i}`,
        filter_chain_match: { destination_port: { value: p } },
        filters: [{ typed_config: { '@type': TYPES.HCM, route_config: { name: `inbound|p${i}`, virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ name: `inbound|p${i}`, match: { prefix: '' }, route: { cluster: `inbound|p${i}` } }] }] }, http_filters: [{ typed_config: { '@type': TYPES.ROUTER } }] } }],
      })),
      metadata: { filter_metadata: { weft: { direction: 'inbound', rateLimit: { requestsPerSecond: 0.001, burst: 8 } } } },
    }],
    clusters: appPorts.map((p, i) => ({ name: `inbound|p${i}`, type: 'STATIC', lb_policy: 'ROUND_ROBIN', load_assignment: { cluster_name: `inbound|p${i}`, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } }] }] } })),
  };
}

beforeAll(async () => {
  for (const name of ['app-a', 'app-b']) {
    const s = http.createServer((req, res) => res.end(`${name} ${req.url}`));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.push((s.address() as AddressInfo).port);
  }
  const authorize = (req: { path: string; peer: { identity?: string } }): AuthzDecision => {
    decisions.push(req.path);
    return req.path.startsWith('/admin') ? { allowed: false, policy: 'default/app-policy', rule: 'no-admin', action: 'DENY' } : { allowed: true, action: 'ALLOW' };
  };
  stack = buildInboundHandler(parseXds(inboundResources(ports)), { endpointClient: clients.endpointClient, metrics: new Registry(), authorize });
});

afterAll(async () => {
  stack.close();
  clients.close();
  await Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function call(path: string, destinationPort?: number, grpc = false) {
  const req = makeRequest({ authority: 'app.default:9080', path, grpc, peer: { address: '10.0.0.9', port: 5555, tls: true, identity: 'spiffe://cluster.local/ns/default/sa/caller' } });
  if (destinationPort !== undefined) setFact(req, 'weft.destinationPort', destinationPort);
  const res = await stack(req);
  return { status: res.status, headers: res.headers, body: await readBody(res) };
}

test('GIVEN the destination port THEN the matching chain forwards to that app port', async () => {
  expect(await call('/x', ports[1])).toMatchObject({ status: 200, body: 'app-b /x' });
  expect(await call('/y', ports[0])).toMatchObject({ status: 200, body: 'app-a /y' });
  expect(await call('/z')).toMatchObject({ status: 200, body: 'app-a /z' }); // no port known: first HTTP chain
});

test('GIVEN a denial THEN 403 weft-error denied naming policy and rule, and PERMISSION_DENIED for gRPC', async () => {
  expect(await call('/admin', ports[0])).toMatchObject({ status: 403, headers: { 'weft-error': 'denied policy=default/app-policy rule=no-admin' } });
  const g = await call('/admin', ports[0], true);
  expect(g.status).toBe(200);
  expect(g.headers['grpc-status']).toBe('7');
  expect(decisions).toContain('/admin');
});

test('GIVEN the listener rate limit (burst 8, ~no refill) THEN requests past the burst get 429', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await call('/r', ports[0])).status);
  expect(statuses).toContain(429);
  expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(8);
});
