/**
 * The lean HTTP/1.1 client and pool against a real node:http app: bodies both ways with trailers,
 * keep-alive reuse, a slow reader that leaves (the pooled socket must not stay paused), pause and
 * resume with reuse, connect failure and a smuggling-shaped response refused with codes.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { WeftError } from '../../../api/errors';
import type { H1Head } from '../../../proxy/wire/h1-head';
import { type H1ClientExchange, H1Pool, type H1ResponseHandler } from '../../../proxy/wire/h1-client';

const BIG = 8 * 1024 * 1024;
let app: http.Server;
let port: number;
const appConns = new Set<net.Socket>();

beforeAll(async () => {
  app = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': String(BIG) });
      const piece = Buffer.alloc(65_536, 0x62);
      let sent = 0;
      const pump = (): void => {
        while (sent < BIG) {
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-app-trailer' });
      res.write(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()} te=${req.headers['transfer-encoding'] ?? '-'} rt=${JSON.stringify(req.trailers)}`);
      res.addTrailers({ 'x-app-trailer': 'done' });
      res.end();
    });
  });
  app.on('connection', (s: net.Socket) => {
    appConns.add(s);
    s.on('close', () => appConns.delete(s));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  port = (app.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => {
  app.closeAllConnections();
  app.close(() => r());
}));

class Res implements H1ResponseHandler {
  head: H1Head | undefined;
  body: Buffer[] = [];
  bytes = 0;
  trailers: string[] | undefined;
  error: WeftError | undefined;
  ended = false;
  done: Promise<void>;
  #resolve!: () => void;
  onBodyHook: ((c: Buffer) => void) | undefined;
  constructor() {
    this.done = new Promise((r) => (this.#resolve = r));
  }
  onHead(h: H1Head): void {
    this.head = h;
  }
  onBody(c: Buffer): void {
    this.body.push(c);
    this.bytes += c.length;
    this.onBodyHook?.(c);
  }
  onTrailers(t: string[]): void {
    this.trailers = t;
  }
  onEnd(): void {
    this.ended = true;
    this.#resolve();
  }
  onDrain(): void {}
  onError(e: WeftError): void {
    this.error = e;
    this.#resolve();
  }
  get text(): string {
    return Buffer.concat(this.body).toString();
  }
}

test('bodies both ways (content-length and chunked with trailers) over one kept-alive connection', async () => {
  const pool = new H1Pool({ host: '127.0.0.1', port });
  const a = new Res();
  pool.request('GET', '/a', ['host', 'app'], true, a);
  await a.done;
  expect(a.head?.status).toBe(200);
  expect(a.text).toBe('GET /a  te=- rt={}');
  expect(a.trailers).toEqual(['x-app-trailer', 'done']);

  const b = new Res();
  const eb = pool.request('POST', '/b', ['host', 'app', 'content-length', '5'], false, b);
  eb.write(Buffer.from('hello'));
  eb.end();
  await b.done;
  expect(b.text).toBe('POST /b hello te=- rt={}');

  const c = new Res();
  const ec = pool.request('PUT', '/c', ['host', 'app', 'trailer', 'x-req'], false, c);
  ec.write(Buffer.from('chunk1 '));
  ec.write(Buffer.from('chunk2'));
  ec.end(['x-req', 'yes', 'content-length', '99']);
  await c.done;
  expect(c.text).toBe('PUT /c chunk1 chunk2 te=chunked rt={"x-req":"yes"}');
  expect(pool.dialed).toBe(1);
  pool.close();
});

test('a slow reader that leaves: its paused connection is destroyed, the next request is served', async () => {
  const pool = new H1Pool({ host: '127.0.0.1', port });
  const slow = new Res();
  let ex: H1ClientExchange | undefined;
  const firstBytes = new Promise<void>((r) => (slow.onBodyHook = () => {
    ex?.pause();
    r();
  }));
  ex = pool.request('GET', '/big', ['host', 'app'], true, slow);
  await firstBytes;
  expect(slow.bytes).toBeLessThan(BIG);
  ex.abort();
  const next = new Res();
  pool.request('GET', '/after', ['host', 'app'], true, next);
  await next.done;
  expect(next.text).toBe('GET /after  te=- rt={}');
  expect(pool.dialed).toBe(2);
  expect(pool.size).toBe(1);
  pool.close();
});

test('a paused reader that resumes: every byte, then the same connection serves the next request unpaused', async () => {
  const pool = new H1Pool({ host: '127.0.0.1', port });
  const r = new Res();
  let ex: H1ClientExchange | undefined;
  let pausedOnce = false;
  r.onBodyHook = () => {
    if (pausedOnce) return;
    pausedOnce = true;
    ex?.pause();
    setImmediate(() => ex?.resume());
  };
  ex = pool.request('GET', '/big', ['host', 'app'], true, r);
  await r.done;
  expect(r.bytes).toBe(BIG);
  const next = new Res();
  pool.request('GET', '/next', ['host', 'app'], true, next);
  await next.done;
  expect(next.text).toBe('GET /next  te=- rt={}');
  expect(pool.dialed).toBe(1);
  pool.close();
});

test('connect failure is WEFT_ERR_H1_CONNECT_FAILED (retryable)', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const dead = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const pool = new H1Pool({ host: '127.0.0.1', port: dead });
  const r = new Res();
  pool.request('GET', '/', ['host', 'app'], true, r);
  await r.done;
  expect(r.error?.code).toBe('WEFT_ERR_H1_CONNECT_FAILED');
});

test('a response with Content-Length and Transfer-Encoding is refused (WEFT_ERR_H1_BAD_FRAMING), its connection dropped', async () => {
  const bad = net.createServer((s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n')));
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', () => r()));
  const pool = new H1Pool({ host: '127.0.0.1', port: (bad.address() as AddressInfo).port });
  const r = new Res();
  pool.request('GET', '/', ['host', 'app'], true, r);
  await r.done;
  expect(r.error?.code).toBe('WEFT_ERR_H1_BAD_FRAMING');
  expect(pool.size).toBe(0);
  await new Promise<void>((res) => bad.close(() => res()));
});
