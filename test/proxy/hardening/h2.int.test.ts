/**
 * HTTP/2 bad input against a real proxy listener with hand-built frames: header injection
 * (CR/LF/NUL), connection-specific headers, too many headers, :authority vs host, advertised
 * limits (100 streams, 64 KiB window) and GOAWAY under overload. The proxy must never crash.
 */
import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import type { ProxyRequest } from '../../../proxy/stack/types';
import { ProxyServer } from '../../../proxy/http/server';
import { OverloadManager } from '../../../proxy/http/overload';
import { exchange, request, TYPE, type Frame } from './frames';
import { h2get } from '../http/util';

const seen: ProxyRequest[] = [];
// shedding only where a test injects it: the event-loop monitor far out of reach (a busy machine lags > 1 s)
const overload = new OverloadManager({ maxEventLoopDelayMs: 600_000 });
let proxy: ProxyServer;
let port: number;

beforeAll(async () => {
  proxy = new ProxyServer({
    handler: async (req) => {
      seen.push(req);
      return { status: 200, headers: {}, body: Readable.from([Buffer.from('ok')]) };
    },
    overload,
  });
  port = (await proxy.listen(0)).port;
});
afterAll(async () => {
  overload.close();
  await proxy.close();
});
beforeEach(() => {
  seen.length = 0;
});

/** True when stream 1 was refused: RST_STREAM, GOAWAY, or a 4xx HEADERS (static :status 400 = 0x8c, or a literal 4xx). */
function refused(frames: Frame[]): boolean {
  return frames.some((f) =>
    (f.type === TYPE.RST_STREAM && f.streamId === 1) || f.type === TYPE.GOAWAY ||
    (f.type === TYPE.HEADERS && f.streamId === 1 && (f.payload[0] === 0x8c || /^4\d\d$/.test(f.payload.subarray(2, 5).toString('latin1')))));
}

async function stillServes(): Promise<void> {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  const r = await h2get(s, { ':path': '/after' });
  expect(r.headers[':status']).toBe(200);
  s.close();
}

test.each([['CR LF', 'a\r\nx-injected: 1'], ['LF', 'a\nx-injected: 1'], ['NUL', 'a\u0000b']])(
  '#5 %s inside a header value never reaches a handler (nghttp2 drops the field; documented deviation)', async (_n, value) => {
    await exchange(port, [request(1, [['x-evil', value]])]);
    expect(seen.every((q) => q.headers['x-evil'] === undefined)).toBe(true);
    expect(seen.some((q) => JSON.stringify(q.headers).includes('x-injected') || String(q.headers['x-evil'] ?? '').match(/[\r\n\0]/))).toBe(false);
    await stillServes();
  });

test.each([['transfer-encoding', 'chunked'], ['connection', 'close'], ['upgrade', 'h2c']])(
  '#4 connection-specific header %s in HTTP/2 → stream error, never forwarded', async (name, value) => {
    const r = await exchange(port, [request(1, [[name, value]])]);
    expect(refused(r.frames)).toBe(true);
    expect(seen).toHaveLength(0);
    await stillServes();
  });

test('#7 more than 100 headers in HTTP/2 → refused, never truncated', async () => {
  const extra = Array.from({ length: 120 }, (_, i) => [`x-h${i}`, 'v'] as [string, string]);
  const r = await exchange(port, [request(1, extra)]);
  expect(refused(r.frames)).toBe(true);
  expect(seen).toHaveLength(0);
  await stillServes();
});

test('#8 :authority and host that differ → 400', async () => {
  const r = await exchange(port, [request(1, [['host', 'other.test']])]);
  expect(refused(r.frames)).toBe(true);
  expect(seen).toHaveLength(0);
});

test('#10 HTTP/2 paths are normalized like HTTP/1.1 ones', async () => {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  const r = await h2get(s, { ':path': '/a/../admin//x' });
  expect(r.headers[':status']).toBe(200);
  expect(seen[0].path).toBe('/admin/x');
  s.close();
});

test('#13 advertised limits: 100 concurrent streams, 64 KiB stream window', async () => {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  const settings = await new Promise<http2.Settings>((resolve) => s.once('remoteSettings', resolve));
  expect(settings.maxConcurrentStreams).toBe(100);
  expect(settings.initialWindowSize).toBe(65535);
  s.close();
});

test('#13 rapid reset: many streams opened and reset at once do not crash the proxy', async () => {
  const frames: Buffer[] = [];
  for (let id = 1; id < 400; id += 2) {
    frames.push(request(id));
    const rst = Buffer.alloc(4);
    rst.writeUInt32BE(8, 0);
    frames.push(Buffer.concat([Buffer.from([0, 0, 4, TYPE.RST_STREAM, 0]), Buffer.from([0, 0, 0, 0]), rst]));
    frames[frames.length - 1].writeUInt32BE(id, 5);
  }
  await exchange(port, frames, 1000);
  await stillServes();
});

test('overload: HTTP/2 requests get 503 and the session a GOAWAY', async () => {
  overload.inject('test');
  try {
    const r = await exchange(port, [request(1)]);
    expect(r.frames.some((f) => f.type === TYPE.GOAWAY)).toBe(true);
    expect(seen).toHaveLength(0);
  } finally {
    overload.inject(undefined);
  }
  await stillServes();
});

test('#12 HTTP/2 stream idle timeout resets the stream, the session survives', async () => {
  const p = new ProxyServer({ handler: () => new Promise(() => undefined), limits: { streamIdleTimeoutMs: 300 } });
  const idlePort = (await p.listen(0)).port;
  const s = http2.connect(`http://127.0.0.1:${idlePort}`);
  const r = await h2get(s, { ':path': '/' });
  expect(r.rstCode).not.toBe(0);
  expect(s.destroyed).toBe(false);
  s.destroy();
  await p.close();
});
