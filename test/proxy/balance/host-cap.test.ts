/**
 * The per-host connection cap (Envoy per_host_thresholds.max_connections) through the real outbound
 * stack and the real HTTP/1.1 pool: a held upstream sees at most the cap in connections, one more
 * request waits in the pending queue and is served later, the rest get 503 `overflow`.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Registry } from 'prom-client';
import { parseXds } from '../../../proxy/config';
import { buildOutboundHandler, type StackHandler } from '../../../proxy/outbound/stack';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { cla, cluster, listener, makeRequest, readBody } from '../../support/proxy-fixtures';

let server: http.Server;
let port = 0;
const clients = new EndpointClients();
let stack: StackHandler | undefined;
const held: http.ServerResponse[] = [];
let onHeld: (() => void) | undefined;
let open = 0;
let maxOpen = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/hold') {
      held.push(res);
      onHeld?.();
    } else res.end('fast');
  });
  server.on('connection', (s: Socket) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    s.on('close', () => open--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  stack?.close();
  clients.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function resources(perHost: number, pending: number) {
  return {
    listeners: [listener('outbound', 'outbound')],
    routes: [{ name: 'outbound', virtual_hosts: [{ name: 'svc', domains: ['svc'], routes: [{ name: 'all', match: { prefix: '' }, route: { cluster: 'c' } }] }] }],
    clusters: [cluster('c', { circuit_breakers: { thresholds: [{ max_pending_requests: { value: pending } }], per_host_thresholds: [{ max_connections: { value: perHost } }] } })],
    endpoints: [cla('c', [`127.0.0.1:${port}`])],
  };
}

test('GIVEN per_host_thresholds max_connections 2 and max_pending_requests 1 THEN 2 connections, 1 queued request served later, the rest 503 overflow', async () => {
  stack = buildOutboundHandler(parseXds(resources(2, 1)), { endpointClient: clients.endpointClient, metrics: new Registry() });
  const send = async (path: string) => {
    const res = await stack!(makeRequest({ authority: 'svc', path }));
    return { status: res.status, error: res.headers['weft-error'], body: await readBody(res) };
  };
  const twoHeld = new Promise<void>((r) => (onHeld = () => held.length === 2 && r()));
  const first = [send('/hold'), send('/hold')];
  await twoHeld;
  // three more while both connections are busy: one fits the pending queue, two are shed
  const more = [send('/hold'), send('/hold'), send('/hold')];
  const shed = await Promise.race([Promise.all([more[1], more[2]]), Promise.all([more[0], more[1]]), Promise.all([more[0], more[2]])]);
  expect(shed).toEqual([
    { status: 503, error: 'overflow route=all cluster=c', body: expect.any(String) },
    { status: 503, error: 'overflow route=all cluster=c', body: expect.any(String) },
  ]);
  expect(held).toHaveLength(2); // the queued one has not reached the upstream
  const third = new Promise<void>((r) => (onHeld = () => held.length === 3 && r()));
  held[0].end('one');
  await third; // the queued request got the freed connection
  held[1].end('two');
  held[2].end('three');
  const done = await Promise.all([...first, ...more]);
  expect(done.filter((r) => r.status === 200).map((r) => r.body).sort()).toEqual(['one', 'three', 'two']);
  expect(done.filter((r) => r.status === 503)).toHaveLength(2);
  expect(maxOpen).toBeLessThanOrEqual(2);
  held.length = 0;
});

test('GIVEN no per_host_thresholds THEN the default cap (256) is set, and max_pending_requests 0 fails fast with circuit_open', async () => {
  expect(parseXds(resources(2, 1)).clusters.get('c')!.circuitBreakers.maxConnectionsPerHost).toBe(2);
  expect(parseXds({ clusters: [cluster('d')] }).clusters.get('d')!.circuitBreakers.maxConnectionsPerHost).toBe(256);
  stack?.close();
  stack = buildOutboundHandler(parseXds(resources(1, 0)), { endpointClient: clients.endpointClient, metrics: new Registry() });
  const oneHeld = new Promise<void>((r) => (onHeld = () => held.length === 1 && r()));
  const first = stack(makeRequest({ authority: 'svc', path: '/hold' }));
  await oneHeld;
  const res = await stack(makeRequest({ authority: 'svc', path: '/fast' }));
  expect(res.status).toBe(503);
  expect(res.headers['weft-error']).toBe('circuit_open route=all cluster=c limit=max_connections');
  await readBody(res);
  held[0].end('ok');
  expect(await readBody(await first)).toBe('ok');
  // the slot is free again once the body ended
  expect(await readBody(await stack(makeRequest({ authority: 'svc', path: '/fast' })))).toBe('fast');
});
