/**
 * The weft/1 codec: every frame type round-trips in any chunking, and each limit and rule of
 * docs/proxy-protocol.md is refused with its code by the decoder (and the encoder, where it applies).
 */
import { FrameDecoder } from '../../../proxy/wire/decode';
import { recorder } from './util';
import { dataHead, goawayFrame, headersFrame, pingFrame, resetFrame, settingsFrame, windowFrame, writeHead } from '../../../proxy/wire/encode';
import { DEFAULT_SETTINGS, FLAG_END_STREAM, FrameType, WireCode, WireError } from '../../../proxy/wire/frames';

const SETTINGS = settingsFrame(DEFAULT_SETTINGS);
const REQ = [':method', 'POST', ':scheme', 'https', ':authority', 'svc', ':path', '/x?y=1', 'x-a', 'b', 'user-agent', 'weft test'];

function decodeAll(bytes: Buffer, chunk = bytes.length): unknown[] {
  const { sink, events } = recorder();
  const d = new FrameDecoder(sink);
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  expect(d.idle).toBe(true);
  return events;
}

function expectCode(bytes: Buffer, code: string, limits = DEFAULT_SETTINGS): void {
  const d = new FrameDecoder(recorder().sink, limits);
  let err: unknown;
  try {
    d.push(Buffer.concat([SETTINGS, bytes]));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WireError);
  expect((err as WireError).code).toBe(code);
  // a failed decoder stays failed with the same error
  expect(() => d.push(Buffer.from([0]))).toThrow(err as Error);
}

function frame(type: number, flags: number, id: number, payload: Buffer | number[] = []): Buffer {
  const p = Buffer.from(payload);
  const b = Buffer.alloc(9 + p.length);
  writeHead(b, 0, p.length, type, flags, id);
  p.copy(b, 9);
  return b;
}

const body = Buffer.from('hello, weft/1 — not latin1? no: plain'.replace('—', '-'));
const all = Buffer.concat([
  settingsFrame({ ...DEFAULT_SETTINGS, maxFrame: 100_000, initialStreamWindow: 1 << 20 }),
  headersFrame(1, REQ, false, DEFAULT_SETTINGS),
  dataHead(1, body.length, false), body,
  dataHead(1, 0, true),
  headersFrame(3, [':status', '200'], false, DEFAULT_SETTINGS),
  headersFrame(3, ['grpc-status', '0', 'grpc-message', 'ok'], true, DEFAULT_SETTINGS, true),
  resetFrame(5, WireCode.CANCEL),
  windowFrame(0, 65_536), windowFrame(7, 1),
  pingFrame(false, Buffer.from('01234567')), pingFrame(true, Buffer.from('abcdefgh')),
  goawayFrame(7, WireCode.NO_ERROR, 'draining'),
]);

const expected = [
  { t: 'settings', s: { maxFrame: 100_000, initialStreamWindow: 1 << 20 } },
  { t: 'headers', id: 1, fields: REQ, end: false },
  { t: 'data', id: 1, data: body.toString('latin1'), end: true },
  { t: 'headers', id: 3, fields: [':status', '200'], end: false },
  { t: 'trailers', id: 3, fields: ['grpc-status', '0', 'grpc-message', 'ok'] },
  { t: 'reset', id: 5, code: WireCode.CANCEL },
  { t: 'window', id: 0, inc: 65_536 }, { t: 'window', id: 7, inc: 1 },
  { t: 'ping', ack: false, p: Buffer.from('01234567').toString('hex') }, { t: 'ping', ack: true, p: Buffer.from('abcdefgh').toString('hex') },
  { t: 'goaway', last: 7, code: 0, debug: 'draining' },
];

test('every frame type round-trips, whole and byte by byte', () => {
  expect(decodeAll(all)).toEqual(expected);
  expect(decodeAll(all, 1)).toEqual(expected);
  expect(decodeAll(all, 7)).toEqual(expected);
});

test('DATA arrives as zero-copy slices as it comes, before the frame is complete', () => {
  const { sink, events } = recorder();
  const d = new FrameDecoder(sink);
  const payload = Buffer.alloc(10_000, 0x61);
  const bytes = Buffer.concat([SETTINGS, dataHead(9, payload.length, true), payload]);
  d.push(bytes.subarray(0, SETTINGS.length + 9 + 100));
  expect(events[1]).toMatchObject({ t: 'data', id: 9, end: false });
  expect((events[1] as { data: string }).data).toHaveLength(100);
  d.push(bytes.subarray(SETTINGS.length + 9 + 100));
  expect(events[1]).toMatchObject({ end: true });
  expect((events[1] as { data: string }).data).toHaveLength(10_000);
});

test('settings only ever raise the defaults; no second SETTINGS; SETTINGS comes first', () => {
  expect(() => settingsFrame({ ...DEFAULT_SETTINGS, maxFrame: 100 })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_FRAME' }));
  const low = Buffer.alloc(6);
  low.writeUInt16BE(1, 0);
  low.writeUInt32BE(100, 2);
  const d = new FrameDecoder(recorder().sink);
  expect(() => d.push(frame(FrameType.SETTINGS, 0, 0, low))).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_FRAME' }));
  const unknown = Buffer.from([0, 99, 0, 0, 0, 1]);
  expect(() => new FrameDecoder(recorder().sink).push(frame(FrameType.SETTINGS, 0, 0, unknown))).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_FRAME' }));
  expect(() => new FrameDecoder(recorder().sink).push(frame(FrameType.PING, 0, 0, Buffer.alloc(8)))).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_FRAME' }));
  expectCode(SETTINGS, 'WEFT_ERR_WIRE_BAD_FRAME');
});

test.each([
  ['unknown type', frame(9, 0, 1), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['flag not allowed', frame(FrameType.RESET, 0x2, 1, [0, 0, 0, 0]), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['DATA on stream 0', frame(FrameType.DATA, FLAG_END_STREAM, 0, [1]), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['PING on a stream', frame(FrameType.PING, 0, 1, Buffer.alloc(8)), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['reserved bit', Buffer.from([0, 0, 1, 0, 1, 0x80, 0, 0, 1, 0x61]), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['RESET of 3 bytes', frame(FrameType.RESET, 0, 1, [0, 0, 0]), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['GOAWAY of 7 bytes', frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(7)), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['empty DATA without END_STREAM', frame(FrameType.DATA, 0, 1), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['TRAILERS without END_STREAM', frame(FrameType.TRAILERS, 0, 1), 'WEFT_ERR_WIRE_BAD_FRAME'],
  ['WINDOW of 0', frame(FrameType.WINDOW, 0, 1, [0, 0, 0, 0]), 'WEFT_ERR_WIRE_FLOW_CONTROL'],
  ['WINDOW over 2^31-1', frame(FrameType.WINDOW, 0, 0, [0x80, 0, 0, 0]), 'WEFT_ERR_WIRE_FLOW_CONTROL'],
  ['frame over MAX_FRAME', Buffer.from([0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 1]), 'WEFT_ERR_WIRE_FRAME_TOO_LARGE'],
])('decoder refuses %s', (_name, bytes, code) => {
  expectCode(bytes, code);
});

/** A header block built by hand, so the decoder sees what no encoder would produce. */
function block(...fields: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const b = Buffer.from(f, 'latin1');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

test.each([
  ['upper-case name', ['X-A', 'b']],
  ['CR LF in a value', ['x-a', 'b\r\nx-evil: 1']],
  ['NUL in a value', ['x-a', 'b\u0000']],
  ['space in a name', ['x a', 'b']],
  ['empty name', ['', 'b']],
  ['pseudo after regular', ['x-a', 'b', ':path', '/']],
  ['connection-specific field', ['transfer-encoding', 'chunked']],
  ['te other than trailers', ['te', 'gzip']],
])('header block with %s → WEFT_ERR_WIRE_BAD_HEADERS from decoder and encoder', (_n, fields) => {
  expectCode(frame(FrameType.HEADERS, 0, 1, block(...fields)), 'WEFT_ERR_WIRE_BAD_HEADERS');
  expect(() => headersFrame(1, fields, false, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_HEADERS' }));
});

test('truncated fields and pseudo-fields in trailers are refused', () => {
  expectCode(frame(FrameType.HEADERS, 0, 1, block('x-a', 'b').subarray(0, 5)), 'WEFT_ERR_WIRE_BAD_HEADERS');
  expectCode(frame(FrameType.HEADERS, 0, 1, [0]), 'WEFT_ERR_WIRE_BAD_HEADERS');
  expectCode(frame(FrameType.TRAILERS, FLAG_END_STREAM, 1, block(':status', '200')), 'WEFT_ERR_WIRE_BAD_HEADERS');
  expect(() => headersFrame(1, [':status', '200'], true, DEFAULT_SETTINGS, true)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_HEADERS' }));
  expect(() => headersFrame(1, ['x-a'], true, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_HEADERS' }));
  expect(() => headersFrame(1, ['x-a', 'é€'], true, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_BAD_HEADERS' }));
});

test('header limits: bytes and field count, at the limit accepted, one over refused', () => {
  const fields = (n: number): string[] => Array.from({ length: n }, (_, i) => [`x-${i}`, 'v']).flat();
  expect(decodeAll(Buffer.concat([SETTINGS, headersFrame(1, fields(128), true, DEFAULT_SETTINGS)]))).toHaveLength(2);
  expect(() => headersFrame(1, fields(129), true, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_HEADERS_TOO_LARGE' }));
  // the decoder enforces its own count even when the sender thought the peer allowed more
  expectCode(headersFrame(1, fields(129), true, { ...DEFAULT_SETTINGS, maxHeaderFields: 1024 }), 'WEFT_ERR_WIRE_HEADERS_TOO_LARGE');
  const exact = ['x-big', 'y'.repeat(65_536 - 4 - 5)];
  expect(decodeAll(Buffer.concat([SETTINGS, headersFrame(1, exact, true, DEFAULT_SETTINGS)]))).toHaveLength(2);
  const over = ['x-big', 'y'.repeat(65_536 - 4 - 4)];
  expect(() => headersFrame(1, over, true, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_WIRE_HEADERS_TOO_LARGE' }));
  const bigFrames = { ...DEFAULT_SETTINGS, maxFrame: 1 << 20, maxHeaderBlock: 1 << 20 };
  expectCode(headersFrame(1, over, true, bigFrames), 'WEFT_ERR_WIRE_FRAME_TOO_LARGE');
  expectCode(headersFrame(1, over, true, bigFrames), 'WEFT_ERR_WIRE_HEADERS_TOO_LARGE', { ...DEFAULT_SETTINGS, maxFrame: 1 << 20 });
});
