/**
 * `weft/1` frame encoder: pure functions from values to Buffers. DATA payloads are never copied
 * (only their 9-byte head is built); small frames are built whole. Header blocks are validated
 * with the decoder's rules and the peer's limits before anything is queued.
 */
import { checkName, checkNotConnectionSpecific, checkValue } from './fields';
import { FLAG_ACK, FLAG_END_STREAM, FRAME_HEAD, FrameType, MAX_GOAWAY_DEBUG, MAX_WINDOW, SETTING_IDS, WireError, DEFAULT_SETTINGS, type WireSettings } from './frames';

/** Writes a frame head at `off` of `buf`. */
export function writeHead(buf: Buffer, off: number, length: number, type: number, flags: number, streamId: number): void {
  buf[off] = (length >>> 16) & 0xff;
  buf[off + 1] = (length >>> 8) & 0xff;
  buf[off + 2] = length & 0xff;
  buf[off + 3] = type;
  buf[off + 4] = flags;
  buf.writeUInt32BE(streamId & 0x7fffffff, off + 5);
}

/** The 9-byte head of a DATA frame of `length` bytes (the payload is written after it, uncopied). */
export function dataHead(streamId: number, length: number, end: boolean): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEAD);
  writeHead(b, 0, length, FrameType.DATA, end ? FLAG_END_STREAM : 0, streamId);
  return b;
}

/** Limits of the receiving peer that a header block must respect. */
export type BlockLimits = Pick<WireSettings, 'maxHeaderBlock' | 'maxHeaderFields' | 'maxFrame'>;

/**
 * A whole HEADERS (or TRAILERS, `trailers` true) frame for `fields` (`[name, value, …]`).
 * Throws WEFT_ERR_WIRE_BAD_HEADERS / WEFT_ERR_WIRE_HEADERS_TOO_LARGE; nothing is sent then.
 */
export function headersFrame(streamId: number, fields: readonly string[], endStream: boolean, peer: BlockLimits, trailers = false): Buffer {
  if (fields.length % 2 !== 0) throw new WireError('WEFT_ERR_WIRE_BAD_HEADERS', 'fields must be name/value pairs');
  if (fields.length / 2 > peer.maxHeaderFields) {
    throw new WireError('WEFT_ERR_WIRE_HEADERS_TOO_LARGE', `${fields.length / 2} fields exceed the peer's limit of ${peer.maxHeaderFields}`);
  }
  let size = 0;
  let regular = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    const pseudo = checkName(name);
    if (pseudo && (trailers || regular)) throw new WireError('WEFT_ERR_WIRE_BAD_HEADERS', `pseudo-field ${name} ${trailers ? 'in trailers' : 'after a regular field'}`);
    if (!pseudo) {
      regular = true;
      checkNotConnectionSpecific(name, value);
    }
    checkValue(name, value);
    size += 4 + name.length + value.length;
  }
  if (size > peer.maxHeaderBlock || size > peer.maxFrame) {
    throw new WireError('WEFT_ERR_WIRE_HEADERS_TOO_LARGE', `header block of ${size} bytes exceeds the peer's limit of ${Math.min(peer.maxHeaderBlock, peer.maxFrame)}`);
  }
  const b = Buffer.allocUnsafe(FRAME_HEAD + size);
  writeHead(b, 0, size, trailers ? FrameType.TRAILERS : FrameType.HEADERS, trailers || endStream ? FLAG_END_STREAM : 0, streamId);
  let off = FRAME_HEAD;
  for (let i = 0; i < fields.length; i++) {
    const s = fields[i];
    b.writeUInt16BE(s.length, off);
    off += 2;
    off += b.write(s, off, 'latin1');
  }
  return b;
}

/** RESET of a stream with a wire code. */
export function resetFrame(streamId: number, code: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEAD + 4);
  writeHead(b, 0, 4, FrameType.RESET, 0, streamId);
  b.writeUInt32BE(code >>> 0, FRAME_HEAD);
  return b;
}

/** WINDOW granting `increment` bytes of credit (stream 0: the connection). */
export function windowFrame(streamId: number, increment: number): Buffer {
  if (increment < 1 || increment > MAX_WINDOW) throw new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', `credit increment ${increment} outside 1…2^31-1`);
  const b = Buffer.allocUnsafe(FRAME_HEAD + 4);
  writeHead(b, 0, 4, FrameType.WINDOW, 0, streamId);
  b.writeUInt32BE(increment, FRAME_HEAD);
  return b;
}

/** PING with 8 opaque bytes (ACK echoes them). */
export function pingFrame(ack: boolean, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(FRAME_HEAD + 8);
  writeHead(b, 0, 8, FrameType.PING, ack ? FLAG_ACK : 0, 0);
  b.set(payload.subarray(0, 8), FRAME_HEAD);
  return b;
}

/** GOAWAY naming the last stream processed, a wire code and a short debug text. */
export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8').subarray(0, MAX_GOAWAY_DEBUG);
  const b = Buffer.allocUnsafe(FRAME_HEAD + 8 + text.length);
  writeHead(b, 0, 8 + text.length, FrameType.GOAWAY, 0, 0);
  b.writeUInt32BE(lastStreamId & 0x7fffffff, FRAME_HEAD);
  b.writeUInt32BE(code >>> 0, FRAME_HEAD + 4);
  b.set(text, FRAME_HEAD + 8);
  return b;
}

/** SETTINGS with every value that differs from the default (the defaults need no bytes). */
export function settingsFrame(s: WireSettings): Buffer {
  const entries = SETTING_IDS.filter(([, key]) => s[key] !== DEFAULT_SETTINGS[key]);
  const b = Buffer.allocUnsafe(FRAME_HEAD + entries.length * 6);
  writeHead(b, 0, entries.length * 6, FrameType.SETTINGS, 0, 0);
  let off = FRAME_HEAD;
  for (const [id, key, max] of entries) {
    const v = s[key];
    if (!Number.isInteger(v) || v < DEFAULT_SETTINGS[key] || v > max) {
      throw new WireError('WEFT_ERR_WIRE_BAD_FRAME', `setting ${key}=${v} outside ${DEFAULT_SETTINGS[key]}…${max}`);
    }
    b.writeUInt16BE(id, off);
    b.writeUInt32BE(v, off + 2);
    off += 6;
  }
  return b;
}
