/**
 * Listener limits of issue 12 (item 4) against a real ProxyServer over raw sockets: a per-source
 * connection cap (one peer cannot lock out another), idle timeouts for HTTP/2 and HTTP/1.1
 * connections, the header-size limit from the first HEADERS frame (before the client ACKs our
 * SETTINGS), and 501 for transfer codings other than chunked.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import type { ProxyRequest } from '../../../proxy/stack/types';
import { ProxyServer } from '../../../proxy/http/server';
import type { HttpLimits } from '../../../proxy/http/limits';
import { FLAG, frame, headerBlock, PREFACE, TYPE, type Frame } from './frames';
import { h2get, raw } from '../http/util';

const seen: ProxyRequest[] = [];
const servers: ProxyServer[] = [];
const sockets: net.Socket[] = [];

async function start(limits: Partial<HttpLimits> = {}): Promise<number> {
  const p = new ProxyServer({
    handler: async (req) => {
      seen.push(req);
      req.body?.resume();
      return { status: 200, headers: { 'content-length': '2' }, body: Readable.from([Buffer.from('ok')]) };
    },
    limits: { headersTimeoutMs: 2000, connectionsCheckingIntervalMs: 100, ...limits },
  });
  servers.push(p);
  return (await p.listen(0)).port;
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});
afterAll(async () => {
  for (const s of servers) await s.close();
});
beforeEach(() => {
  seen.length = 0;
});

/**
 * Opens an h2c connection from `localAddress` and resolves 'open' once the server's SETTINGS arrive
 * (the listener accepted it), or 'closed' if the server closes it first.
 */
function h2cIdle(port: number, localAddress: string): Promise<{ socket: net.Socket; state: 'open' | 'closed' }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => resolve({ socket, state: 'open' }));
    socket.once('close', () => resolve({ socket, state: 'closed' }));
    socket.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0)]));
  });
}

test('per-source cap: 60 idle h2c connections from one source hold at most 50; another source is still served', async () => {
  const port = await start({ maxConnections: 60, maxConnectionsPerSource: 50 });
  const a: ('open' | 'closed')[] = [];
  for (let i = 0; i < 60; i++) a.push((await h2cIdle(port, '127.0.0.1')).state);
  expect(a.filter((s) => s === 'open')).toHaveLength(50);
  expect(a.slice(50)).toEqual(Array(10).fill('closed'));
  const other = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }) });
  try {
    const r = await h2get(other, { ':path': '/from-b' });
    expect(r.headers[':status']).toBe(200);
    expect(seen.map((q) => q.path)).toEqual(['/from-b']);
  } finally {
    other.destroy();
  }
});

test('idle timeout: an HTTP/2 connection with no stream is closed (GOAWAY), so is an idle HTTP/1.1 keep-alive connection', async () => {
  const port = await start({ idleTimeoutMs: 300 });
  const h2 = await h2cIdle(port, '127.0.0.1');
  expect(h2.state).toBe('open');
  const frames: number[] = [];
  h2.socket.on('data', (d: Buffer) => frames.push(d[3]));
  await new Promise((r) => h2.socket.once('close', r));
  expect(frames).toContain(TYPE.GOAWAY);
  const h1 = await raw(port, 'GET /keep HTTP/1.1\r\nhost: a\r\n\r\n', 10_000);
  expect(h1.text).toMatch(/^HTTP\/1\.1 200/);
  expect(h1.closed).toBe(true);
});

/** Sends the preface, our SETTINGS (never ACKing the server's) and `frames`; collects frames until close or `waitMs`. */
function noAck(port: number, frames: Buffer[], waitMs = 1500): Promise<Frame[]> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    sockets.push(s);
    let buf = Buffer.alloc(0);
    const got: Frame[] = [];
    const done = (): void => {
      clearTimeout(timer);
      resolve(got);
    };
    const timer = setTimeout(done, waitMs);
    s.on('error', () => undefined);
    s.on('close', done);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
        const len = buf.readUIntBE(0, 3);
        got.push({ type: buf[3], flags: buf[4], streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
        buf = buf.subarray(9 + len);
      }
    });
    s.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0), ...frames]));
  });
}

test('HTTP/2 header list over the limit in the very first HEADERS (SETTINGS not ACKed) → refused, never reaches a handler', async () => {
  const port = await start({ maxRequestHeadersBytes: 16 * 1024 });
  const block = headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '/big'], [':authority', 'a.test'],
    ...Array.from({ length: 6 }, (_, i) => [`x-big-${i}`, 'y'.repeat(8000)] as [string, string])]);
  // 48 KB of header block: HEADERS (16 KiB, the default max frame size) + CONTINUATION frames
  const chunks: Buffer[] = [];
  for (let i = 0; i < block.length; i += 16384) chunks.push(block.subarray(i, i + 16384));
  const frames = chunks.map((c, i) => frame(i === 0 ? TYPE.HEADERS : 9 /* CONTINUATION */, (i === 0 ? FLAG.END_STREAM : 0) | (i === chunks.length - 1 ? FLAG.END_HEADERS : 0), 1, c));
  const got = await noAck(port, frames);
  expect(seen).toHaveLength(0);
  const refused = got.some((f) => (f.type === TYPE.RST_STREAM && f.streamId === 1) || f.type === TYPE.GOAWAY || (f.type === TYPE.HEADERS && f.streamId === 1 && !/^2/.test(f.payload.toString('latin1'))));
  expect(refused).toBe(true);
  // and a request under the limit on a fresh connection is still served
  const ok = http2.connect(`http://127.0.0.1:${port}`);
  try {
    expect((await h2get(ok, { ':path': '/small', 'x-a': 'b' })).headers[':status']).toBe(200);
  } finally {
    ok.destroy();
  }
});

test.each([
  ['two Transfer-Encoding headers: gzip, chunked', 'transfer-encoding: gzip\r\ntransfer-encoding: chunked'],
  ['one header: gzip, chunked', 'transfer-encoding: gzip, chunked'],
  ['deflate, chunked', 'transfer-encoding: deflate, chunked'],
])('%s → 501 (Envoy), connection closed, never forwarded', async (_n, lines) => {
  const port = await start();
  const r = await raw(port, `POST / HTTP/1.1\r\nhost: a\r\n${lines}\r\n\r\n0\r\n\r\n`);
  expect(r.text).toMatch(/^HTTP\/1\.1 501/);
  expect(r.text).toContain('weft-error: unsupported_transfer_coding');
  expect(r.closed).toBe(true);
  expect(seen).toHaveLength(0);
});

test('plain chunked is still accepted', async () => {
  const port = await start();
  const r = await raw(port, 'POST / HTTP/1.1\r\nhost: a\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
  expect(r.text).toMatch(/^HTTP\/1\.1 200/);
});
