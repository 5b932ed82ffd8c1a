/**
 * The per-host connection cap (Envoy per_host_thresholds.max_connections) through the real outbound
 * stack and the real HTTP/1.1 pool: a held upstream sees at most the cap in connections, one more
 * request waits in the pending queue and is served later, the rest get 503 `overflow`. The cap is
 * the only bound on the pool: above the pool's old 256 sockets, and with two clusters sharing one
 * endpoint client, every admitted request gets its own connection (none parks in Node's Agent queue).
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
let clients: EndpointClients;
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

beforeEach(() => {
  clients = new EndpointClients();
  maxOpen = open;
});

afterEach(() => {
  for (const r of held) r.end();
  held.length = 0;
  onHeld = undefined;
  stack?.close();
  stack = undefined;
  clients.close();
  server.closeAllConnections();
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** Clusters named by `caps` (name → per-host cap), each reached by authority `<name>`, all on one endpoint. */
function resources(caps: Record<string, number>, pending: number) {
  const names = Object.keys(caps);
  return {
    listeners: [listener('outbound', 'outbound')],
    routes: [{ name: 'outbound', virtual_hosts: names.map((n) => ({ name: n, domains: [n], routes: [{ name: 'all', match: { prefix: '' }, route: { cluster: n } }] })) }],
    clusters: names.map((n) => cluster(n, { circuit_breakers: { thresholds: [{ max_pending_requests: { value: pending } }], per_host_thresholds: [{ max_connections: { value: caps[n] } }] } })),
    endpoints: names.map((n) => cla(n, [`127.0.0.1:${port}`])),
  };
}

async function send(authority: string, path: string) {
  const res = await stack!(makeRequest({ authority, path }));
  return { status: res.status, error: res.headers['weft-error'], body: await readBody(res) };
}

test('GIVEN per_host_thresholds max_connections 2 and max_pending_requests 1 THEN 2 connections, 1 queued request served later, the rest 503 overflow', async () => {
  stack = buildOutboundHandler(parseXds(resources({ c: 2 }, 1)), { endpointClient: clients.endpointClient, metrics: new Registry() });
  const twoHeld = new Promise<void>((r) => (onHeld = () => held.length === 2 && r()));
  const first = [send('c', '/hold'), send('c', '/hold')];
  await twoHeld;
  // three more while both connections are busy: one fits the pending queue, two are shed
  const more = [send('c', '/hold'), send('c', '/hold'), send('c', '/hold')];
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
});

test('GIVEN no per_host_thresholds THEN the default cap (256) is set, and max_pending_requests 0 fails fast with circuit_open', async () => {
  expect(parseXds(resources({ c: 2 }, 1)).clusters.get('c')!.circuitBreakers.maxConnectionsPerHost).toBe(2);
  expect(parseXds({ clusters: [cluster('d')] }).clusters.get('d')!.circuitBreakers.maxConnectionsPerHost).toBe(256);
  stack = buildOutboundHandler(parseXds(resources({ c: 1 }, 0)), { endpointClient: clients.endpointClient, metrics: new Registry() });
  const oneHeld = new Promise<void>((r) => (onHeld = () => held.length === 1 && r()));
  const first = stack(makeRequest({ authority: 'c', path: '/hold' }));
  await oneHeld;
  const res = await stack(makeRequest({ authority: 'c', path: '/fast' }));
  expect(res.status).toBe(503);
  expect(res.headers['weft-error']).toBe('circuit_open route=all cluster=c limit=max_connections');
  await readBody(res);
  held[0].end('ok');
  expect(await readBody(await first)).toBe('ok');
  // the slot is free again once the body ended
  expect(await readBody(await stack(makeRequest({ authority: 'c', path: '/fast' })))).toBe('fast');
});

/** Resolves when `n` requests are held upstream; fails (instead of hanging) when they do not all arrive. */
function heldCount(n: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`only ${held.length} of ${n} requests reached the upstream (${open} connections)`)), 10_000);
    onHeld = () => {
      if (held.length < n) return;
      clearTimeout(guard);
      resolve();
    };
  });
}

test('GIVEN per-host max_connections 300 (above the old 256-socket pool) and max_pending_requests 0 THEN 300 upstream connections, and request 301 gets 503 at once', async () => {
  stack = buildOutboundHandler(parseXds(resources({ c: 300 }, 0)), { endpointClient: clients.endpointClient, metrics: new Registry() });
  const all = heldCount(300);
  const first = Array.from({ length: 300 }, () => send('c', '/hold'));
  await all;
  expect(open).toBe(300);
  expect(await send('c', '/fast')).toEqual({ status: 503, error: 'circuit_open route=all cluster=c limit=max_connections', body: expect.any(String) });
  for (const r of held) r.end('ok');
  const done = await Promise.all(first);
  expect(done.every((r) => r.status === 200 && r.body === 'ok')).toBe(true);
}, 30_000);

test('GIVEN two clusters listing one endpoint (one shared client), cap 130 each THEN 260 upstream connections, and each cluster sheds its 131st', async () => {
  stack = buildOutboundHandler(parseXds(resources({ a: 130, b: 130 }, 0)), { endpointClient: clients.endpointClient, metrics: new Registry() });
  expect(stack.backends.clientCount).toBe(1);
  const all = heldCount(260);
  const first = [...Array.from({ length: 130 }, () => send('a', '/hold')), ...Array.from({ length: 130 }, () => send('b', '/hold'))];
  await all;
  expect(open).toBe(260);
  expect(await send('a', '/fast')).toMatchObject({ status: 503, error: 'circuit_open route=all cluster=a limit=max_connections' });
  expect(await send('b', '/fast')).toMatchObject({ status: 503, error: 'circuit_open route=all cluster=b limit=max_connections' });
  for (const r of held) r.end('ok');
  const done = await Promise.all(first);
  expect(done.filter((r) => r.status === 200)).toHaveLength(260);
}, 30_000);
