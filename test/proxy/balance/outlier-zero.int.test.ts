/**
 * Failure-percentage ejection configured with failure_percentage_minimum_hosts 0 and
 * failure_percentage_request_volume 0 (valid in Envoy and gRFC A50) through the real outbound stack
 * and real upstreams: the config is accepted, and after one interval the failing endpoint is out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { parseXds } from '../../../proxy/config';
import { buildOutboundHandler, type StackHandler } from '../../../proxy/outbound/stack';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { FakeClock, cla, cluster, listener, makeRequest, readBody } from '../../support/proxy-fixtures';

const servers: http.Server[] = [];
const ports: number[] = [];
const clients = new EndpointClients();
let stack: StackHandler | undefined;

beforeAll(async () => {
  for (const status of [500, 200]) {
    const s = http.createServer((_req, res) => {
      res.statusCode = status;
      res.end(String(status));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.push((s.address() as AddressInfo).port);
  }
});

afterAll(async () => {
  stack?.close();
  clients.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

test('GIVEN failure_percentage minimum_hosts 0 and request_volume 0 THEN the cluster is accepted and the endpoint failing its one call is ejected at the interval', async () => {
  const outlier = {
    interval: { seconds: 1 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 50 },
    enforcing_consecutive_5xx: { value: 0 }, enforcing_success_rate: { value: 0 },
    enforcing_failure_percentage: { value: 100 }, failure_percentage_threshold: { value: 50 },
    failure_percentage_minimum_hosts: { value: 0 }, failure_percentage_request_volume: { value: 0 },
  };
  const config = parseXds({
    listeners: [listener('outbound', 'outbound')],
    routes: [{ name: 'outbound', virtual_hosts: [{ name: 'svc', domains: ['svc'], routes: [{ name: 'all', match: { prefix: '' }, route: { cluster: 'c' } }] }] }],
    clusters: [cluster('c', { lb_policy: 'ROUND_ROBIN', outlier_detection: outlier })],
    endpoints: [cla('c', ports.map((p) => `127.0.0.1:${p}`))],
  });
  const clock = new FakeClock(0);
  stack = buildOutboundHandler(config, { endpointClient: clients.endpointClient, metrics: new Registry(), clock, random: () => 0 });
  const status = async () => (await readBody(await stack!(makeRequest({ authority: 'svc', path: '/' })))).toString();
  // round robin: one call to each endpoint in the first interval
  expect([await status(), await status()].sort()).toEqual(['200', '500']);
  clock.advance(1000);
  const after = [];
  for (let i = 0; i < 4; i++) after.push(await status());
  expect(after).toEqual(['200', '200', '200', '200']);
});
