/**
 * weft/1 sessions over real mTLS sockets (ALPN `weft/1`): exchanges with headers, bodies and
 * trailers; per-stream and connection credit; a slow reader pausing only its own stream; credit
 * released when a paused stream goes away; reset; GOAWAY drain; connection errors; batched writes.
 */
import * as tls from 'node:tls';
import { spiffeIdOf } from '../../../proxy/http/peer';
import { FrameDecoder } from '../../../proxy/wire/decode';
import { DEFAULT_SETTINGS, WireCode, WireError } from '../../../proxy/wire/frames';
import type { WeftSession } from '../../../proxy/wire/session';
import type { StreamHandler, WeftStream } from '../../../proxy/wire/stream';
import { until } from '../../support/waiting';
import { Collector } from './collect';
import { CLIENT_ID, SERVER_ID, dial, makePki, type Pki, weftServer } from './mtls';
import { recorder } from './util';

let pki: Pki;
let server: Awaited<ReturnType<typeof weftServer>>;
const slow: WeftStream[] = [];
const slowHandlers: Collector[] = [];
const serverErrors: WireError[] = [];

/** Server side: `/echo` streams the body back with backpressure, `/slow` never reads, `/sink` counts. */
function onStream(stream: WeftStream): void {
  const path = stream.head?.[stream.head.indexOf(':path') + 1];
  if (path === '/slow') {
    const c = new Collector();
    slow.push(stream);
    slowHandlers.push(c);
    stream.attach(c);
    stream.pause();
    return;
  }
  let bytes = 0;
  const h: StreamHandler = {
    onHeaders: () => undefined,
    onData: (chunk) => {
      bytes += chunk.length;
      if (path === '/echo' && !stream.write(chunk)) stream.pause();
    },
    onTrailers: () => undefined,
    onEnd: () => stream.end(['x-bytes', String(bytes)]),
    onDrain: () => stream.resume(),
    onError: (e) => serverErrors.push(e),
  };
  const peer = spiffeIdOf((stream.owner as WeftSession).socket instanceof tls.TLSSocket
    ? ((stream.owner as WeftSession).socket as tls.TLSSocket).getPeerCertificate().subjectaltname : undefined);
  stream.respond([':status', '200', 'x-peer', peer ?? 'none']);
  stream.attach(h);
}

beforeAll(async () => {
  pki = await makePki();
  server = await weftServer(pki, { onStream });
});
afterAll(() => server.close());
beforeEach(() => {
  slow.length = 0;
  slowHandlers.length = 0;
  serverErrors.length = 0;
});

const head = (path: string, method = 'POST'): string[] => [':method', method, ':scheme', 'https', ':authority', 'svc.test', ':path', path, 'x-test', '1'];

async function connect(): Promise<WeftSession> {
  const d = await dial(pki, server.port);
  expect(d.protocol).toBe('weft/1');
  return d.session as WeftSession;
}

/** Sends `body` in 64 KiB pieces, waiting for onDrain whenever write() says so. */
async function send(stream: WeftStream, c: Collector, body: Buffer, trailers?: string[]): Promise<void> {
  for (let off = 0; off < body.length; off += 65_536) {
    if (!stream.write(body.subarray(off, off + 65_536))) {
      await new Promise<void>((r) => (c.onDrainHook = r));
      c.onDrainHook = undefined;
    }
    if (c.error) return;
  }
  stream.end(trailers);
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >>> 16;
  }
  return b;
}

test('an exchange over mTLS with ALPN weft/1: heads, body, trailers, peer identity', async () => {
  const session = await connect();
  expect(spiffeIdOf((session.socket as tls.TLSSocket).getPeerCertificate().subjectaltname)).toBe(SERVER_ID);
  const c = new Collector();
  const s = session.openStream(head('/echo'), false, c);
  s.write(Buffer.from('hello '));
  s.end(['x-req-trailer', 'yes']);
  await c.done;
  expect(c.error).toBeUndefined();
  expect(c.head).toEqual([':status', '200', 'x-peer', CLIENT_ID]);
  expect(c.body.toString()).toBe('hello ');
  expect(c.trailers).toEqual(['x-bytes', '6']);
  expect(session.activeStreams).toBe(0);
  session.destroy();
});

test('many streams at once, multi-MiB bodies both ways through flow control: every byte in order', async () => {
  const session = await connect();
  const bodies = [0, 1, 2, 3, 4, 5].map((i) => pattern(i === 0 ? 0 : 700_000 + i * 311_111, i + 1));
  const results = await Promise.all(bodies.map(async (b) => {
    const c = new Collector();
    const s = session.openStream(head('/echo'), false, c);
    await send(s, c, b);
    await c.done;
    return c;
  }));
  results.forEach((c, i) => {
    expect(c.error).toBeUndefined();
    expect(c.body.equals(bodies[i])).toBe(true);
    expect(c.trailers).toEqual(['x-bytes', String(bodies[i].length)]);
  });
  // more bytes crossed than the connection window: credit was granted back along the way
  expect(bodies.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(3 * DEFAULT_SETTINGS.initialConnectionWindow);
  session.destroy();
});

test('frames produced in one event-loop turn leave in one corked write', async () => {
  const session = await connect();
  await new Promise((r) => setImmediate(r));
  const before = session.stats.flushes;
  const cs = Array.from({ length: 50 }, () => new Collector());
  for (const c of cs) session.openStream(head('/echo', 'GET'), true, c);
  await new Promise((r) => setImmediate(r));
  expect(session.stats.flushes).toBe(before + 1);
  await Promise.all(cs.map((c) => c.done));
  expect(cs.every((c) => c.ended && c.head?.[1] === '200')).toBe(true);
  // fewer flushes than streams on the way back too (each server turn batches its responses)
  const srv = server.sessions[server.sessions.length - 1];
  expect(srv.stats.flushes).toBeLessThan(50);
  session.destroy();
});

test('a slow reader pauses only its stream; when it goes away its credit is released and the connection keeps serving', async () => {
  const session = await connect();
  const a = new Collector();
  const sa = session.openStream(head('/slow'), false, a);
  // write until flow control says stop: the server buffers at most one stream window
  const big = pattern(2 * DEFAULT_SETTINGS.initialStreamWindow, 7);
  expect(sa.write(big)).toBe(false);
  await until(async () => slow.length === 1 && slow[0].bufferedBytes === DEFAULT_SETTINGS.initialStreamWindow, 'the slow stream to fill its window');
  expect(sa.queuedBytes).toBe(big.length - DEFAULT_SETTINGS.initialStreamWindow);
  expect(a.drains).toBe(0);

  // meanwhile another stream on the same connection is not held up by the paused one
  const b = new Collector();
  const sb = session.openStream(head('/echo'), false, b);
  const bBody = pattern(3 * DEFAULT_SETTINGS.initialStreamWindow, 8);
  await send(sb, b, bBody);
  await b.done;
  expect(b.body.equals(bBody)).toBe(true);

  // the slow reader leaves: its stream is reset, the sender's queue is dropped, its writer fails
  slow[0].reset(WireCode.CANCEL);
  await a.done;
  expect(a.error?.code).toBe('WEFT_ERR_WIRE_RESET');
  expect(a.error?.wireCode).toBe(WireCode.CANCEL);
  expect(sa.queuedBytes).toBe(0);

  // the same pooled connection carries more than a connection window afterwards
  const c = new Collector();
  const sc = session.openStream(head('/echo'), false, c);
  const cBody = pattern(DEFAULT_SETTINGS.initialConnectionWindow + 123_457, 9);
  await send(sc, c, cBody);
  await c.done;
  expect(c.body.equals(cBody)).toBe(true);
  expect(session.activeStreams).toBe(0);
  session.destroy();
});

test('a paused stream resumes: the writer gets onDrain and every byte arrives', async () => {
  const session = await connect();
  const a = new Collector();
  const sa = session.openStream(head('/slow'), false, a);
  const body = pattern(3 * DEFAULT_SETTINGS.initialStreamWindow + 5, 3);
  const sent = send(sa, a, body);
  await until(async () => slow.length === 1 && slow[0].bufferedBytes === DEFAULT_SETTINGS.initialStreamWindow, 'the window to fill');
  slow[0].resume();
  await sent;
  await until(async () => slowHandlers[0].ended, 'the request body to end on the server');
  expect(slowHandlers[0].body.equals(body)).toBe(true);
  expect(a.drains).toBeGreaterThan(0);
  slow[0].respond([':status', '204'], true);
  await a.done;
  expect(a.head).toEqual([':status', '204']);
  session.destroy();
});

test('the sender going away releases the receiver: buffered bytes dropped, later streams flow', async () => {
  const session = await connect();
  const a = new Collector();
  const sa = session.openStream(head('/slow'), false, a);
  sa.write(pattern(DEFAULT_SETTINGS.initialStreamWindow, 4));
  await until(async () => slow.length === 1 && slow[0].bufferedBytes === DEFAULT_SETTINGS.initialStreamWindow, 'the window to fill');
  sa.reset(WireCode.CANCEL);
  await slowHandlers[0].done;
  expect(slowHandlers[0].error?.code).toBe('WEFT_ERR_WIRE_RESET');
  expect(slow[0].bufferedBytes).toBe(0);
  const c = new Collector();
  const body = pattern(DEFAULT_SETTINGS.initialConnectionWindow * 2, 5);
  await send(session.openStream(head('/echo'), false, c), c, body);
  await c.done;
  expect(c.body.equals(body)).toBe(true);
  session.destroy();
});

test('stream limit, bad heads and state errors are coded; nothing is sent for them', async () => {
  const session = await connect();
  const open: WeftStream[] = [];
  for (let i = 0; i < DEFAULT_SETTINGS.maxConcurrentStreams; i++) open.push(session.openStream(head('/slow'), false, new Collector()));
  expect(() => session.openStream(head('/slow'), false, new Collector())).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_STREAM_LIMIT' }));
  open[0].reset();
  expect(session.canOpen).toBe(true);
  expect(() => session.openStream([':method', 'GET', ':path', '/'], true, new Collector())).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_HEADERS' }));
  expect(() => session.openStream([...head('/x'), 'connection', 'close'], true, new Collector())).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_HEADERS' }));
  const done = session.openStream(head('/x', 'GET'), true, new Collector());
  expect(() => done.write(Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_STREAM_STATE' }));
  session.destroy();
});

test('GOAWAY drain: the open stream finishes, new streams are refused with WEFT_ERR_WIRE_GOAWAY, the connection closes cleanly', async () => {
  const session = await connect();
  const a = new Collector();
  const sa = session.openStream(head('/echo'), false, a);
  sa.write(Buffer.from('first half '));
  await until(async () => server.sessions.some((s) => s.activeStreams === 1), 'the server to see the stream');
  const srv = server.sessions.find((s) => s.activeStreams === 1) as WeftSession;
  const srvClosed = srv.close('test drain');
  await until(async () => !session.canOpen, 'the client to see GOAWAY');
  expect(() => session.openStream(head('/echo'), true, new Collector())).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_GOAWAY' }));
  sa.end();
  await a.done;
  expect(a.body.toString()).toBe('first half ');
  expect(await srvClosed).toBeUndefined();
  expect(await session.whenClosed()).toBeUndefined();
});

test('a malformed frame is a connection error: GOAWAY with PROTOCOL, the peer session fails its streams', async () => {
  const session = await connect();
  const a = new Collector();
  session.openStream(head('/slow'), false, a);
  await until(async () => slow.length === 1, 'the stream to open');
  const srv = server.sessions[server.sessions.length - 1];
  const srvClosed = srv.whenClosed();
  // a frame of unknown type 0x42 on the raw TLS socket, under the session
  (session.socket as tls.TLSSocket).write(Buffer.from([0, 0, 0, 0x42, 0, 0, 0, 0, 1]));
  const err = await srvClosed;
  expect(err?.code).toBe('WEFT_ERR_WIRE_BAD_FRAME');
  expect(slowHandlers[0].error?.code).toBe('WEFT_ERR_WIRE_BAD_FRAME');
  await a.done;
  // the client reads GOAWAY and fails the stream: closed under it
  expect(a.error?.code).toMatch(/^WEFT_ERR_WIRE_(CLOSED|REFUSED)$/);
});

test('the socket closing under open streams fails them with WEFT_ERR_WIRE_CLOSED', async () => {
  const session = await connect();
  const a = new Collector();
  session.openStream(head('/slow'), false, a);
  await until(async () => slow.length === 1, 'the stream to open');
  for (const s of server.sockets) s.destroy();
  await a.done;
  expect(a.error?.code).toBe('WEFT_ERR_WIRE_CLOSED');
  expect(await session.whenClosed()).toMatchObject({ code: 'WEFT_ERR_WIRE_CLOSED' });
});

test('PING is answered with ACK and the same payload (raw frames on a weft/1 socket)', async () => {
  const d = await dial(pki, server.port);
  const sock = d.socket;
  sock.removeAllListeners('data');
  const { sink, events } = recorder();
  const dec = new FrameDecoder(sink);
  sock.on('data', (c: Buffer) => dec.push(c));
  const { pingFrame } = await import('../../../proxy/wire/encode');
  // the dialing session's SETTINGS leaves on the next turn; the raw PING follows it
  await new Promise((r) => setImmediate(r));
  sock.write(pingFrame(false, Buffer.from('weftping')));
  await until(async () => events.some((e) => (e as { t: string }).t === 'ping'), 'the PING ACK');
  expect(events.find((e) => (e as { t: string }).t === 'ping')).toEqual({ t: 'ping', ack: true, p: Buffer.from('weftping').toString('hex') });
  sock.destroy();
});

test('ALPN fallback: a peer without weft/1 selects h2, and no weft/1 byte is sent', async () => {
  const old = await weftServer(pki, { onStream }, ['h2', 'http/1.1']);
  const d = await dial(pki, old.port);
  expect(d.protocol).toBe('h2');
  expect(d.session).toBeUndefined();
  d.socket.destroy();
  await old.close();
});

test('errors are WireErrors with stable codes', () => {
  const e = new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', 'x');
  expect(e.wireCode).toBe(WireCode.FLOW_CONTROL);
});

describe('a misbehaving peer on raw frames (real mTLS socket, weft/1 selected)', () => {
  async function rawPeer(): Promise<{ sock: tls.TLSSocket; srv: WeftSession; goaway: Promise<unknown> }> {
    const d = await dial(pki, server.port);
    const sock = d.socket;
    sock.removeAllListeners('data');
    const { sink, events } = recorder();
    const dec = new FrameDecoder(sink);
    sock.on('data', (c: Buffer) => dec.push(c));
    await until(async () => server.sessions.length > 0 && (server.sessions[server.sessions.length - 1].socket as tls.TLSSocket).remotePort === sock.localPort, 'the server session');
    const srv = server.sessions[server.sessions.length - 1];
    const goaway = until(async () => events.some((e) => (e as { t: string }).t === 'goaway'), 'GOAWAY').then(() => events.find((e) => (e as { t: string }).t === 'goaway'));
    return { sock, srv, goaway };
  }

  test('DATA beyond the stream window is WEFT_ERR_WIRE_FLOW_CONTROL: GOAWAY FLOW_CONTROL and the connection closes', async () => {
    const { headersFrame, dataHead } = await import('../../../proxy/wire/encode');
    const { sock, srv, goaway } = await rawPeer();
    const closed = srv.whenClosed();
    const over = Buffer.alloc(DEFAULT_SETTINGS.maxFrame);
    // the dialing session already sent this connection's SETTINGS; the raw frames follow it
    const frames = [headersFrame(1, head('/slow'), false, DEFAULT_SETTINGS)];
    // five full frames: one more than the 256 KiB stream window
    for (let i = 0; i < 5; i++) frames.push(dataHead(1, over.length, false), over);
    sock.write(Buffer.concat(frames));
    const err = await closed;
    expect(err?.code).toBe('WEFT_ERR_WIRE_FLOW_CONTROL');
    expect(await goaway).toMatchObject({ code: WireCode.FLOW_CONTROL, last: 1 });
    sock.destroy();
  });

  test('a stream id that goes backwards (or is even) is WEFT_ERR_WIRE_BAD_FRAME; a late frame of an ended stream is ignored', async () => {
    const { headersFrame, resetFrame } = await import('../../../proxy/wire/encode');
    const { sock, srv } = await rawPeer();
    const closed = srv.whenClosed();
    sock.write(Buffer.concat([
      headersFrame(5, head('/slow'), false, DEFAULT_SETTINGS),
      resetFrame(5, WireCode.CANCEL),
      resetFrame(5, WireCode.CANCEL), // late, ignored
      headersFrame(3, head('/slow'), true, DEFAULT_SETTINGS), // an id lower than 5 that was never opened: ignored as closed
      headersFrame(8, head('/slow'), true, DEFAULT_SETTINGS), // even: the client never opens those
    ]));
    const err = await closed;
    expect(err?.code).toBe('WEFT_ERR_WIRE_BAD_FRAME');
    expect(err?.message).toMatch(/stream id 8 is even/);
    sock.destroy();
  });
});
