/**
 * gRPC through buildOutboundHandler over a REAL HTTP/2 upstream: a trailers-only UNAVAILABLE is
 * retried under retry_on "unavailable" (gRFC A44), and a caller's grpc-timeout shorter than the
 * upstream's answer time yields a trailers-only DEADLINE_EXCEEDED naming the route.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { parseXds } from '../../../proxy/config';
import { buildOutboundHandler } from '../../../proxy/outbound/stack';
import type { StackHandler } from '../../../proxy/outbound/stack';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { cla, cluster, dur, listener, makeRequest, readBody } from '../../support/proxy-fixtures';

let server: http2.Http2Server;
let calls = 0;
const clients = new EndpointClients();
let stack: StackHandler;

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    calls++;
    stream.on('data', () => undefined);
    stream.on('error', () => undefined); // the slow call's stream is reset when its deadline passes
    if (headers[':path'] === '/pkg.Svc/Slow') return; // never answers
    if (calls % 2 === 1) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'try again' }, { endStream: true });
    } else {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const grpcCluster = cluster('greeter', { metadata: { filter_metadata: { weft: { protocol: 'grpc', lbPolicy: 'round-robin' } } } });
  stack = buildOutboundHandler(parseXds({
    listeners: [listener('outbound', 'outbound')],
    routes: [{ name: 'outbound', virtual_hosts: [{ name: 'greeter', domains: ['greeter:50051'], routes: [
      { name: 'slow', match: { path: '/pkg.Svc/Slow' }, route: { cluster: 'greeter' } },
      { name: 'rpc', match: { prefix: '/' }, route: { cluster: 'greeter', retry_policy: { retry_on: 'unavailable', num_retries: { value: 2 }, retry_back_off: { base_interval: dur(1) } } } },
    ] }] }],
    clusters: [grpcCluster],
    endpoints: [cla('greeter', [`127.0.0.1:${port}`])],
  }), { endpointClient: clients.endpointClient, metrics: new Registry() });
});

afterAll(async () => {
  stack.close();
  clients.close();
  await new Promise((r) => server.close(r));
});

const grpcRequest = (path: string, headers: Record<string, string> = {}) => makeRequest({
  authority: 'greeter:50051', path, method: 'POST', grpc: true, httpVersion: '2',
  headers: { 'content-type': 'application/grpc', te: 'trailers', ...headers }, body: Buffer.from([0, 0, 0, 0, 0]),
});

test('GIVEN a trailers-only UNAVAILABLE from a real h2 upstream THEN the call is retried and succeeds', async () => {
  const before = calls;
  const res = await stack(grpcRequest('/pkg.Svc/Hello'));
  expect(res.status).toBe(200);
  expect(res.headers['grpc-status']).toBeUndefined();
  await readBody(res);
  expect(await res.trailers).toMatchObject({ 'grpc-status': '0' });
  expect(calls - before).toBe(2);
});

test('GIVEN a grpc-timeout shorter than the upstream THEN trailers-only DEADLINE_EXCEEDED naming the route', async () => {
  const res = await stack(grpcRequest('/pkg.Svc/Slow', { 'grpc-timeout': '50m' }));
  expect(res.status).toBe(200);
  expect(res.headers['grpc-status']).toBe('4');
  expect(res.headers['weft-error']).toBe('timeout route=slow');
});
