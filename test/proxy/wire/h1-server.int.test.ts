/**
 * The lean HTTP/1.1 server connection over raw sockets: keep-alive and pipelining, chunked
 * responses with trailers, the bad-input catalogue answered 400/431 with `weft-error` and never
 * dispatched, 100-continue, headers timeout, and streaming with backpressure both ways.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { H1Head } from '../../../proxy/wire/h1-head';
import { type H1ServerExchange, serveH1 } from '../../../proxy/wire/h1-server';
import { raw } from '../http/util';
import { until } from '../../support/waiting';

const seen: H1Head[] = [];
const paused: string[] = [];
const aborted: string[] = [];
let port: number;
let server: net.Server;

function onRequest(ex: H1ServerExchange): void {
  seen.push(ex.head);
  const path = ex.head.target;
  let n = 0;
  let trailers: string[] = [];
  if (path === '/echo') ex.respond(200, 'OK', ['x-echo', '1']);
  ex.attach({
    onBody: (c) => {
      n += c.length;
      if (path === '/echo' && !ex.write(c)) {
        paused.push(path);
        ex.pause();
      }
    },
    onTrailers: (t) => (trailers = t),
    onEnd: () => {
      if (path === '/echo') return ex.end(['x-bytes', String(n), ...trailers]);
      const body = Buffer.from(`got ${n}`);
      ex.respond(200, 'OK', ['content-length', String(body.length)]);
      ex.write(body);
      ex.end();
    },
    onDrain: () => ex.resume(),
    onAbort: () => aborted.push(path),
  });
}

beforeAll(async () => {
  server = net.createServer((s) => serveH1(s, { onRequest, headersTimeoutMs: 300 }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
  paused.length = 0;
  aborted.length = 0;
});

const status = (t: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(t)?.[1] ?? 0);

test('keep-alive with pipelining: answers in order on one connection, chunked with trailers, then close', async () => {
  const r = await raw(port,
    'POST /len HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello' +
    'POST /echo HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n' +
    'GET /len HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  expect(r.closed).toBe(true);
  const parts = r.text.split('HTTP/1.1 ').slice(1);
  expect(parts).toHaveLength(3);
  expect(parts[0]).toContain('got 5');
  expect(parts[1]).toContain('transfer-encoding: chunked');
  expect(parts[1]).toContain('3\r\nabc\r\n0\r\nx-bytes: 3\r\nx-t: 1\r\n\r\n');
  expect(parts[2]).toContain('connection: close');
  expect(seen.map((h) => h.target)).toEqual(['/len', '/echo', '/len']);
});

test.each([
  ['CL + TE', 400, 'bad_request', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['obfuscated TE', 400, 'bad_request', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: xchunked\r\n\r\n'],
  ['duplicate Host', 400, 'bad_request', 'GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n'],
  ['CR in a value', 400, 'bad_header', 'GET / HTTP/1.1\r\nhost: a\r\nx-a: b\rc\r\n\r\n'],
  ['101 fields', 431, 'headers_too_large', `GET / HTTP/1.1\r\nhost: a\r\n${Array.from({ length: 100 }, (_, i) => `x-h${i}: v\r\n`).join('')}\r\n`],
  ['CONNECT', 405, 'connect_unsupported', 'CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n'],
])('%s → status %s with weft-error %s, closed, never dispatched', async (_n, code, reason, text) => {
  const r = await raw(port, text);
  expect(status(r.text)).toBe(code);
  expect(r.text).toContain(`weft-error: ${reason}`);
  expect(r.closed).toBe(true);
  expect(seen.filter((h) => h.method !== 'CONNECT')).toHaveLength(0);
});

test('a bad request after a good one on the same connection: the first is answered, the second refused', async () => {
  const r = await raw(port, 'GET /len HTTP/1.1\r\nhost: a\r\n\r\nPOST / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n');
  expect(r.text.startsWith('HTTP/1.1 200 OK')).toBe(true);
  expect(r.text).toContain('HTTP/1.1 400 Bad Request');
  expect(seen).toHaveLength(1);
});

test('expect: 100-continue is answered when the body is asked for', async () => {
  const r = await raw(port, 'POST /len HTTP/1.1\r\nhost: a\r\nexpect: 100-continue\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi');
  expect(r.text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK')).toBe(true);
  expect(r.text).toContain('got 2');
});

test('headers timeout: a head that never completes gets 408 and the connection closes', async () => {
  const r = await raw(port, 'GET / HTTP/1.1\r\nhost: a\r\n', 5000);
  expect(status(r.text)).toBe(408);
  expect(r.closed).toBe(true);
});

test('streaming echo with backpressure: a client that does not read pauses the server reading; every byte arrives in order', async () => {
  const total = 16 * 1024 * 1024;
  const body = Buffer.alloc(total);
  for (let i = 0; i < total; i++) body[i] = (i * 31 + (i >>> 11)) & 0xff;
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.pause();
  sock.write(`POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: ${total}\r\nconnection: close\r\n\r\n`);
  let written = 0;
  const writeAll = (): void => {
    while (written < total) {
      const piece = body.subarray(written, written + 65_536);
      written += piece.length;
      if (!sock.write(piece)) {
        sock.once('drain', writeAll);
        return;
      }
    }
  };
  writeAll();
  // the server stops reading because nobody reads its responses: our writes back up too
  await until(async () => paused.length > 0 && sock.writableLength > 0, 'the server to push back');
  expect(written).toBeLessThan(total);
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.resume();
  await new Promise((r) => sock.once('close', r));
  const text = Buffer.concat(chunks);
  const headEnd = text.indexOf('\r\n\r\n') + 4;
  // de-chunk the response
  const out: Buffer[] = [];
  let p = headEnd;
  for (;;) {
    const eol = text.indexOf('\r\n', p);
    const size = parseInt(text.toString('latin1', p, eol), 16);
    if (size === 0) break;
    out.push(text.subarray(eol + 2, eol + 2 + size));
    p = eol + 2 + size + 2;
  }
  expect(Buffer.concat(out).equals(body)).toBe(true);
  expect(text.toString('latin1', p)).toContain(`x-bytes: ${total}`);
});

test('the client leaving mid-exchange aborts the exchange', async () => {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write('POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: 100000\r\n\r\nonly a part');
  await until(async () => seen.length === 1, 'the request');
  sock.destroy();
  await until(async () => aborted.includes('/echo'), 'the abort');
});
