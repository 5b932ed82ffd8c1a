/**
 * An EDS update that removes an endpoint closes its pooled connections: idle ones at once, the one
 * carrying an in-flight request after that request finishes (it is not cut). Real HTTP/1.1 pool,
 * real upstream sockets, the real outbound stack over a ConfigCell.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Registry } from 'prom-client';
import { ConfigCell, parseXds } from '../../../proxy/config';
import { buildOutboundHandler, type StackHandler } from '../../../proxy/outbound/stack';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { cla, cluster, listener, makeRequest, readBody } from '../../support/proxy-fixtures';

interface Upstream {
  server: http.Server;
  port: number;
  open: number;
  held: http.ServerResponse[];
  waiters: { when: () => boolean; resolve: () => void }[];
}

const ups: Upstream[] = [];
const clients = new EndpointClients();
let stack: StackHandler | undefined;

function check(u: Upstream): void {
  for (const w of [...u.waiters]) if (w.when()) {
    u.waiters.splice(u.waiters.indexOf(w), 1);
    w.resolve();
  }
}
/** Resolves once `when()` holds (re-checked on every upstream event). */
function until(u: Upstream, when: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    u.waiters.push({ when, resolve });
    check(u);
  });
}

async function upstream(name: string): Promise<Upstream> {
  // a long keep-alive: only the proxy may close these connections during the test
  const u: Upstream = { server: http.createServer({ keepAliveTimeout: 120_000 }), port: 0, open: 0, held: [], waiters: [] };
  u.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/hold') u.held.push(res);
    else if (req.url === '/pair') setImmediate(() => res.end(name)); // stay busy a moment so two of them need two sockets
    else res.end(name);
    check(u);
  });
  u.server.on('connection', (s: Socket) => {
    u.open++;
    s.on('close', () => {
      u.open--;
      check(u);
    });
    check(u);
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  ups.push(u);
  return u;
}

afterAll(async () => {
  stack?.close();
  clients.close();
  await Promise.all(ups.map((u) => new Promise((r) => { u.server.closeAllConnections(); u.server.close(r); })));
});

const config = (addresses: string[]) => parseXds({
  listeners: [listener('outbound', 'outbound')],
  routes: [{ name: 'outbound', virtual_hosts: [{ name: 'svc', domains: ['svc'], routes: [{ name: 'all', match: { prefix: '' }, route: { cluster: 'c' } }] }] }],
  clusters: [cluster('c', { lb_policy: 'ROUND_ROBIN' })],
  endpoints: [cla('c', addresses)],
});

test('GIVEN an endpoint removed by an EDS update THEN its idle connections close at once and its in-flight request finishes, then its last connection closes', async () => {
  const a = await upstream('a');
  const b = await upstream('b');
  const cell = new ConfigCell(config([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]));
  stack = buildOutboundHandler(cell, { endpointClient: clients.endpointClient, metrics: new Registry() });
  const send = async (path: string) => readBody(await stack!(makeRequest({ authority: 'svc', path })));

  // two concurrent requests per endpoint: two pooled connections to each
  expect((await Promise.all([send('/pair'), send('/pair'), send('/pair'), send('/pair')])).sort()).toEqual(['a', 'a', 'b', 'b']);
  expect(a.open).toBe(2);
  // one request held at `a` (round robin: within two tries); `a` keeps one idle connection
  const inflight: Promise<string>[] = [];
  while (a.held.length === 0) {
    const p = send('/hold');
    inflight.push(p);
    await Promise.race([until(a, () => a.held.length > 0), until(b, () => b.held.length > 0)]);
    for (const r of b.held.splice(0)) r.end('b');
  }
  expect(a.open).toBe(2);

  // WHEN the update removes `a` THEN its idle connection closes while the busy one stays
  cell.set(config([`127.0.0.1:${b.port}`]));
  await until(a, () => a.open === 1);
  expect(a.held).toHaveLength(1);
  // new requests go to `b` only
  expect(await send('/')).toBe('b');
  expect(await send('/')).toBe('b');

  // the in-flight request finishes normally, then the last connection to `a` closes
  a.held[0].end('held-a');
  expect(await Promise.all(inflight)).toContain('held-a');
  await until(a, () => a.open === 0);
  expect(b.open).toBeGreaterThan(0); // `b` keeps its pool
});
