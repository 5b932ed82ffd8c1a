/**
 * The lean engine's pieces composed as two sidecars, all on real sockets: an HTTP/1.1 client →
 * lean H1 server → weft/1 over mTLS → lean H1 client pool → a node:http app. Streaming both ways,
 * trailers, many exchanges on one weft/1 connection, and a slow client that leaves.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { forwardH1ToWeft, serveWeftToH1 } from '../../../proxy/wire/bridge';
import { H1Pool } from '../../../proxy/wire/h1-client';
import { serveH1 } from '../../../proxy/wire/h1-server';
import type { WeftSession } from '../../../proxy/wire/session';
import { until } from '../../support/waiting';
import { dial, makePki, weftServer } from './mtls';

const BIG = 6 * 1024 * 1024;
let app: http.Server;
let pool: H1Pool;
let inbound: Awaited<ReturnType<typeof weftServer>>;
let session: WeftSession;
let outbound: net.Server;
let outPort: number;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  app = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': String(BIG) });
      const piece = Buffer.alloc(65_536, 0x63);
      let sent = 0;
      const pump = (): void => {
        while (sent < BIG) {
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      req.resume();
      return pump();
    }
    // echo: streams the request body back, chunked, with the request's trailers reflected
    res.writeHead(200, { 'x-app': 'echo', 'x-host': req.headers.host ?? '', trailer: 'x-echo-trailer' });
    req.pipe(res, { end: false });
    req.on('end', () => {
      res.addTrailers({ 'x-echo-trailer': JSON.stringify(req.trailers) });
      res.end();
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  pool = new H1Pool({ host: '127.0.0.1', port: (app.address() as AddressInfo).port });
  const pki = await makePki();
  inbound = await weftServer(pki, { onStream: (s) => serveWeftToH1(s, pool) });
  const d = await dial(pki, inbound.port);
  session = d.session as WeftSession;
  outbound = net.createServer((s) => serveH1(s, { onRequest: (ex) => forwardH1ToWeft(ex, session) }));
  await new Promise<void>((r) => outbound.listen(0, '127.0.0.1', () => r()));
  outPort = (outbound.address() as AddressInfo).port;
});
afterAll(async () => {
  agent.destroy();
  session.destroy();
  pool.close();
  await inbound.close();
  await new Promise<void>((r) => outbound.close(() => r()));
  app.closeAllConnections();
  await new Promise<void>((r) => app.close(() => r()));
});

function call(path: string, opts: { method?: string; body?: Buffer[]; headers?: http.OutgoingHttpHeaders; trailers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: outPort, path, method: opts.method ?? 'GET', agent, headers: { host: 'svc.test', ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const b of opts.body ?? []) req.write(b);
    if (opts.trailers) req.addTrailers(opts.trailers);
    req.end();
  });
}

test('a request crosses both sidecars: Host becomes :authority and back, trailers reach the app and come back', async () => {
  const r = await call('/echo?x=1', { method: 'POST', body: [Buffer.from('hello '), Buffer.from('weft')], headers: { 'transfer-encoding': 'chunked', trailer: 'x-req-t' }, trailers: { 'x-req-t': 'v1' } });
  expect(r.status).toBe(200);
  expect(r.headers['x-app']).toBe('echo');
  expect(r.headers['x-host']).toBe('svc.test');
  expect(r.body.toString()).toBe('hello weft');
  expect(JSON.parse(r.trailers['x-echo-trailer'] ?? '{}')).toEqual({ 'x-req-t': 'v1' });
});

test('50 concurrent exchanges share the one weft/1 connection', async () => {
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => call(`/echo/${i}`, { method: 'POST', body: [Buffer.from(`body ${i}`)] })));
  rs.forEach((r, i) => expect(r.body.toString()).toBe(`body ${i}`));
  expect(inbound.sessions).toHaveLength(1);
  expect(session.stats.flushes).toBeLessThan(50 * 3);
});

test('multi-MiB bodies stream both ways through flow control and backpressure, byte for byte', async () => {
  const body = Buffer.alloc(5 * 1024 * 1024 + 3);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >>> 9)) & 0xff;
  const pieces: Buffer[] = [];
  for (let off = 0; off < body.length; off += 100_000) pieces.push(body.subarray(off, off + 100_000));
  const r = await call('/echo', { method: 'PUT', body: pieces });
  expect(r.body.equals(body)).toBe(true);
  const big = await call('/big');
  expect(big.body.length).toBe(BIG);
});

test('a slow client that leaves mid-response: the stream is reset, the app connection dropped, later calls still work', async () => {
  const sock = net.connect(outPort, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let got = 0;
  const firstBytes = new Promise<void>((r) => sock.once('data', (c: Buffer) => {
    got += c.length;
    sock.pause(); // a slow reader
    r();
  }));
  sock.write('GET /big HTTP/1.1\r\nhost: svc.test\r\n\r\n');
  await firstBytes;
  await until(async () => inbound.sessions[0].activeStreams === 1, 'the stream to be open on the server sidecar');
  sock.destroy();
  await until(async () => inbound.sessions[0].activeStreams === 0 && session.activeStreams === 0, 'the stream to be released on both sidecars');
  expect(got).toBeLessThan(BIG);
  const after = await Promise.all([call('/echo', { method: 'POST', body: [Buffer.from('after')] }), call('/big')]);
  expect(after[0].body.toString()).toBe('after');
  expect(after[1].body.length).toBe(BIG);
});
