/**
 * The HTTP/1.1 bad-input catalogue against a real proxy listener over raw sockets: framing
 * smuggling, header limits (Envoy's 60 KiB / 100), Host rules, path confusion, slowloris,
 * connection caps and overload shedding.
 */
import * as net from 'node:net';
import { Readable } from 'node:stream';
import type { ProxyRequest } from '../../../proxy/stack/types';
import { ProxyServer } from '../../../proxy/http/server';
import { OverloadManager } from '../../../proxy/http/overload';
import type { HttpLimits } from '../../../proxy/http/limits';
import { raw } from '../http/util';

const seen: ProxyRequest[] = [];
const servers: ProxyServer[] = [];
// shedding only where a test injects it: the event-loop monitor far out of reach (a busy machine lags > 1 s)
const overload = new OverloadManager({ maxEventLoopDelayMs: 600_000 });

async function start(limits: Partial<HttpLimits> = {}): Promise<number> {
  const p = new ProxyServer({
    handler: async (req) => {
      seen.push(req);
      req.body?.resume();
      return { status: 200, headers: { 'content-length': '2' }, body: Readable.from([Buffer.from('ok')]) };
    },
    limits: { headersTimeoutMs: 400, connectionsCheckingIntervalMs: 100, ...limits },
    overload,
  });
  servers.push(p);
  return (await p.listen(0)).port;
}

let port: number;
beforeAll(async () => {
  port = await start();
});
afterAll(async () => {
  overload.close();
  for (const s of servers) await s.close();
});
beforeEach(() => {
  seen.length = 0;
});

const status = (t: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(t)?.[1] ?? 0);

test('#1 Content-Length + Transfer-Encoding → 400, connection closed, never forwarded', async () => {
  const r = await raw(port, 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
  expect(status(r.text)).toBe(400);
  expect(r.closed).toBe(true);
  expect(seen).toHaveLength(0);
});

test.each([
  ['xchunked', 'transfer-encoding: xchunked'],
  ['chunked, identity', 'transfer-encoding: chunked, identity'],
  ['space before colon', 'transfer-encoding : chunked'],
])('#2 obfuscated Transfer-Encoding (%s) → 400', async (_n, line) => {
  const r = await raw(port, `POST / HTTP/1.1\r\nhost: a\r\n${line}\r\n\r\n0\r\n\r\n`);
  expect(status(r.text)).toBe(400);
  expect(seen).toHaveLength(0);
});

test.each([['3 and 4', 'content-length: 3\r\ncontent-length: 4'], ['+3', 'content-length: +3'], ['overflow', 'content-length: 99999999999999999999999']])(
  '#3 bad Content-Length (%s) → 400', async (_n, line) => {
    const r = await raw(port, `POST / HTTP/1.1\r\nhost: a\r\n${line}\r\n\r\nabc`);
    expect(status(r.text)).toBe(400);
    expect(seen).toHaveLength(0);
  });

test('#6 request headers over 60 KiB → 431', async () => {
  const big = 'x'.repeat(8000);
  const lines = Array.from({ length: 8 }, (_, i) => `x-big-${i}: ${big}`).join('\r\n');
  const r = await raw(port, `GET / HTTP/1.1\r\nhost: a\r\n${lines}\r\n\r\n`);
  expect(status(r.text)).toBe(431);
  expect(seen).toHaveLength(0);
});

test('#6 headers just under the limit are accepted', async () => {
  const lines = Array.from({ length: 6 }, (_, i) => `x-big-${i}: ${'y'.repeat(8000)}`).join('\r\n');
  const r = await raw(port, `GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n${lines}\r\n\r\n`);
  expect(status(r.text)).toBe(200);
});

test('#7 more than 100 headers → 431, never silent truncation; exactly 100 is fine', async () => {
  const hs = (n: number): string => Array.from({ length: n }, (_, i) => `x-h${i}: v`).join('\r\n');
  const over = await raw(port, `GET / HTTP/1.1\r\nhost: a\r\n${hs(100)}\r\n\r\n`);
  expect(status(over.text)).toBe(431);
  expect(over.text.toLowerCase()).toContain('connection: close');
  const ok = await raw(port, `GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n${hs(98)}\r\n\r\n`);
  expect(status(ok.text)).toBe(200);
  expect(Object.keys(seen[0].headers).filter((h) => h.startsWith('x-h'))).toHaveLength(98);
  const many = await raw(port, `GET / HTTP/1.1\r\nhost: a\r\n${hs(2000)}\r\n\r\n`);
  expect(status(many.text)).toBe(431);
});

test('#8 duplicate Host → 400; missing Host on HTTP/1.1 → 400', async () => {
  const dup = await raw(port, 'GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n');
  expect(status(dup.text)).toBe(400);
  const none = await raw(port, 'GET / HTTP/1.1\r\n\r\n');
  expect(status(none.text)).toBe(400);
  expect(seen).toHaveLength(0);
});

test('#9 underscore header names: rejected when configured (Envoy REJECT_REQUEST), dropped with DROP_HEADER', async () => {
  const rejectPort = await start({ underscoreHeaders: 'reject' });
  const r = await raw(rejectPort, 'GET / HTTP/1.1\r\nhost: a\r\nx_forwarded_for: 1.2.3.4\r\n\r\n');
  expect(status(r.text)).toBe(400);
  const dropPort = await start({ underscoreHeaders: 'drop' });
  const d = await raw(dropPort, 'GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\nx_forwarded_for: 1.2.3.4\r\nx-ok: 1\r\n\r\n');
  expect(status(d.text)).toBe(200);
  expect(seen[0].headers['x_forwarded_for']).toBeUndefined();
  expect(seen[0].headers['x-ok']).toBe('1');
});

test.each([
  ['/a/../admin', '/admin'],
  ['//admin', '/admin'],
  ['/%61dmin/./x', '/admin/x'],
  ['/a/%2e%2e/admin?q=/../', '/admin?q=/../'],
  ['/../../admin', '/admin'],
])('#10 path %s is normalized to %s before routing', async (target, want) => {
  const r = await raw(port, `GET ${target} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`);
  expect(status(r.text)).toBe(200);
  expect(seen[0].path).toBe(want);
});

test('#10 escaped slashes: kept by default, 400 with escapedSlashes=reject', async () => {
  const keep = await raw(port, 'GET /a%2fb HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  expect(status(keep.text)).toBe(200);
  expect(seen[0].path).toBe('/a%2Fb');
  const rejectPort = await start({ escapedSlashes: 'reject' });
  const r = await raw(rejectPort, 'GET /a%2Fb HTTP/1.1\r\nhost: a\r\n\r\n');
  expect(status(r.text)).toBe(400);
});

test('#11 slowloris: a connection that never finishes its headers is closed after the headers timeout', async () => {
  const r = await new Promise<{ text: string; closed: boolean }>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('error', () => undefined);
    const drip = setInterval(() => s.write('x-slow: 1\r\n'), 100);
    s.write('GET / HTTP/1.1\r\nhost: a\r\n');
    const guard = setTimeout(() => {
      clearInterval(drip);
      s.destroy();
      resolve({ text: out, closed: false });
    }, 5000);
    s.on('close', () => {
      clearInterval(drip);
      clearTimeout(guard);
      resolve({ text: out, closed: true });
    });
  });
  expect(r.closed).toBe(true);
  expect(status(r.text) === 408 || r.text === '').toBe(true);
  expect(seen).toHaveLength(0);
});

test('#11 a connection that sends nothing is closed', async () => {
  const r = await raw(port, '', 5000);
  expect(r.closed).toBe(true);
});

test('connection cap: connections beyond maxConnections are refused', async () => {
  const capPort = await start({ maxConnections: 2 });
  const a = net.connect(capPort, '127.0.0.1');
  const b = net.connect(capPort, '127.0.0.1');
  await Promise.all([new Promise((r) => a.on('connect', r)), new Promise((r) => b.on('connect', r))]);
  const c = await raw(capPort, 'GET / HTTP/1.1\r\nhost: a\r\n\r\n', 2000);
  expect(c.closed).toBe(true);
  expect(c.text).toBe('');
  a.destroy();
  b.destroy();
});

test('overload: requests are shed with 503 + connection: close while overloaded', async () => {
  overload.inject('test');
  try {
    const r = await raw(port, 'GET / HTTP/1.1\r\nhost: a\r\n\r\n');
    expect(status(r.text)).toBe(503);
    expect(r.text.toLowerCase()).toContain('connection: close');
    expect(r.text).toContain('weft-error: overloaded');
    expect(r.closed).toBe(true);
    expect(seen).toHaveLength(0);
  } finally {
    overload.inject(undefined);
  }
  const ok = await raw(port, 'GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  expect(status(ok.text)).toBe(200);
});

test('#2 Transfer-Encoding on HTTP/1.0 → 400 (framing cannot be trusted)', async () => {
  const r = await raw(port, 'POST / HTTP/1.0\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
  expect(status(r.text)).toBe(400);
  expect(seen).toHaveLength(0);
});

test('#12 stream idle timeout: a request the upstream never answers is closed after the idle timeout', async () => {
  const p = new ProxyServer({ handler: () => new Promise(() => undefined), limits: { streamIdleTimeoutMs: 300 } });
  servers.push(p);
  const idlePort = (await p.listen(0)).port;
  const r = await raw(idlePort, 'GET / HTTP/1.1\r\nhost: a\r\n\r\n', 5000);
  expect(r.closed).toBe(true);
});
