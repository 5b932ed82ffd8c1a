/**
 * `weft/1` incremental frame decoder: bytes in any chunking, frames out to one sink object (no
 * closures per frame). DATA payload is passed on as zero-copy slices as it arrives; other payloads
 * are collected whole (bounded by the limits). Every malformed input throws a coded WireError.
 */
import { checkNameBytes, checkNotConnectionSpecific, checkValueBytes } from './fields';
import { DEFAULT_SETTINGS, FLAG_ACK, FLAG_END_STREAM, FRAME_HEAD, FrameType, MAX_GOAWAY_DEBUG, MAX_WINDOW, SETTING_IDS, WireError, type WireSettings } from './frames';

/** Receives decoded frames. Fields are flat `[name, value, …]` lists. */
export interface FrameSink {
  /** A piece of a DATA frame's payload; `end` on the last piece of a frame with END_STREAM. */
  onData(streamId: number, chunk: Buffer, end: boolean): void;
  onHeaders(streamId: number, fields: string[], endStream: boolean): void;
  onTrailers(streamId: number, fields: string[]): void;
  onReset(streamId: number, code: number): void;
  onWindow(streamId: number, increment: number): void;
  onPing(ack: boolean, payload: Buffer): void;
  onGoaway(lastStreamId: number, code: number, debug: string): void;
  onSettings(settings: Partial<WireSettings>): void;
}

/** What the decoder accepts (this side's own settings). */
export type DecodeLimits = Pick<WireSettings, 'maxFrame' | 'maxHeaderBlock' | 'maxHeaderFields'>;

const enum State { Head, Data, Control }
const EMPTY = Buffer.alloc(0);
const SETTING_BY_ID = new Map(SETTING_IDS.map(([id, key, max]) => [id, { key, max }] as const));

/** The allowed flag bits per frame type (index = type). */
const FLAGS_ALLOWED = [FLAG_END_STREAM, FLAG_END_STREAM, FLAG_END_STREAM, 0, 0, FLAG_ACK, 0, 0];

/** Decodes one connection's inbound byte stream. After an error it stays failed. */
export class FrameDecoder {
  readonly #sink: FrameSink;
  readonly #limits: DecodeLimits;
  readonly #head = Buffer.alloc(FRAME_HEAD);
  #headFill = 0;
  #state = State.Head;
  #length = 0;
  #type = 0;
  #flags = 0;
  #streamId = 0;
  #remaining = 0;
  #payload: Buffer = EMPTY;
  #fill = 0;
  #sawSettings = false;
  #error: WireError | undefined;

  constructor(sink: FrameSink, limits: DecodeLimits = DEFAULT_SETTINGS) {
    this.#sink = sink;
    this.#limits = limits;
  }

  /** The error that stopped the decoder, if any. */
  get error(): WireError | undefined {
    return this.#error;
  }

  /** True when no frame is partly received (a clean place for the connection to end). */
  get idle(): boolean {
    return this.#state === State.Head && this.#headFill === 0;
  }

  /** Feeds bytes; frames complete in them go to the sink at once. Throws a WireError on bad input. */
  push(chunk: Buffer): void {
    if (this.#error) throw this.#error;
    try {
      this.#consume(chunk);
    } catch (e) {
      if (e instanceof WireError) this.#error = e;
      throw e;
    }
  }

  #consume(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.#state === State.Head) {
        const head = this.#head;
        while (this.#headFill < FRAME_HEAD && off < n) head[this.#headFill++] = chunk[off++];
        if (this.#headFill < FRAME_HEAD) return;
        this.#headFill = 0;
        this.#startFrame();
      } else if (this.#state === State.Data) {
        const take = Math.min(this.#remaining, n - off);
        this.#remaining -= take;
        const piece = chunk.subarray(off, off + take);
        off += take;
        const last = this.#remaining === 0;
        if (last) this.#state = State.Head;
        this.#sink.onData(this.#streamId, piece, last && (this.#flags & FLAG_END_STREAM) !== 0);
      } else {
        const take = Math.min(this.#length - this.#fill, n - off);
        chunk.copy(this.#payload, this.#fill, off, off + take);
        this.#fill += take;
        off += take;
        if (this.#fill === this.#length) {
          this.#state = State.Head;
          this.#control(this.#payload);
        }
      }
    }
    // a zero-length frame whose head ended the chunk is already complete
  }

  /** Validates a complete head and enters the payload state (or finishes an empty frame). */
  #startFrame(): void {
    const h = this.#head;
    const length = (h[0] << 16) | (h[1] << 8) | h[2];
    const type = h[3];
    const flags = h[4];
    const rawId = h.readUInt32BE(5);
    if (rawId > 0x7fffffff) throw badFrame('reserved bit set in stream id');
    const sid = rawId;
    if (type > FrameType.SETTINGS) throw badFrame(`unknown frame type ${type}`);
    if ((flags & ~FLAGS_ALLOWED[type]) !== 0) throw badFrame(`flags 0x${flags.toString(16)} not allowed on type ${type}`);
    if (length > this.#limits.maxFrame) {
      throw new WireError('WEFT_ERR_WIRE_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.#limits.maxFrame}`);
    }
    if (!this.#sawSettings && type !== FrameType.SETTINGS) throw badFrame('the first frame must be SETTINGS');
    switch (type) {
      case FrameType.DATA:
      case FrameType.HEADERS:
      case FrameType.TRAILERS:
      case FrameType.RESET:
        if (sid === 0) throw badFrame(`frame type ${type} on stream 0`);
        break;
      case FrameType.PING:
      case FrameType.GOAWAY:
      case FrameType.SETTINGS:
        if (sid !== 0) throw badFrame(`frame type ${type} on stream ${sid}`);
        break;
    }
    if (type === FrameType.HEADERS && length > this.#limits.maxHeaderBlock) {
      throw new WireError('WEFT_ERR_WIRE_HEADERS_TOO_LARGE', `header block of ${length} bytes exceeds the limit of ${this.#limits.maxHeaderBlock}`);
    }
    if (type === FrameType.TRAILERS && length > this.#limits.maxHeaderBlock) {
      throw new WireError('WEFT_ERR_WIRE_HEADERS_TOO_LARGE', `trailer block of ${length} bytes exceeds the limit of ${this.#limits.maxHeaderBlock}`);
    }
    if (type === FrameType.TRAILERS && (flags & FLAG_END_STREAM) === 0) throw badFrame('TRAILERS without END_STREAM');
    if ((type === FrameType.RESET || type === FrameType.WINDOW) && length !== 4) throw badFrame(`payload of ${length} bytes for type ${type}`);
    if (type === FrameType.PING && length !== 8) throw badFrame(`PING of ${length} bytes`);
    if (type === FrameType.GOAWAY && (length < 8 || length > 8 + MAX_GOAWAY_DEBUG)) throw badFrame(`GOAWAY of ${length} bytes`);
    if (type === FrameType.SETTINGS && length % 6 !== 0) throw badFrame(`SETTINGS of ${length} bytes`);
    if (type === FrameType.DATA && length === 0 && (flags & FLAG_END_STREAM) === 0) throw badFrame('empty DATA without END_STREAM');
    this.#length = length;
    this.#type = type;
    this.#flags = flags;
    this.#streamId = sid;
    if (type === FrameType.DATA) {
      if (length === 0) {
        this.#sink.onData(sid, EMPTY, true);
        return;
      }
      this.#remaining = length;
      this.#state = State.Data;
      return;
    }
    if (length === 0) {
      this.#control(EMPTY);
      return;
    }
    this.#payload = Buffer.allocUnsafe(length);
    this.#fill = 0;
    this.#state = State.Control;
  }

  /** A complete non-DATA frame. */
  #control(p: Buffer): void {
    const sid = this.#streamId;
    switch (this.#type) {
      case FrameType.HEADERS:
        this.#sink.onHeaders(sid, this.#block(p, false), (this.#flags & FLAG_END_STREAM) !== 0);
        return;
      case FrameType.TRAILERS:
        this.#sink.onTrailers(sid, this.#block(p, true));
        return;
      case FrameType.RESET:
        this.#sink.onReset(sid, p.readUInt32BE(0));
        return;
      case FrameType.WINDOW: {
        const inc = p.readUInt32BE(0);
        if (inc === 0 || inc > MAX_WINDOW) throw new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', `credit increment ${inc} outside 1…2^31-1`);
        this.#sink.onWindow(sid, inc);
        return;
      }
      case FrameType.PING:
        this.#sink.onPing((this.#flags & FLAG_ACK) !== 0, p);
        return;
      case FrameType.GOAWAY:
        this.#sink.onGoaway(p.readUInt32BE(0) & 0x7fffffff, p.readUInt32BE(4), p.toString('utf8', 8));
        return;
      case FrameType.SETTINGS:
        if (this.#sawSettings) throw badFrame('a second SETTINGS frame');
        this.#sawSettings = true;
        this.#sink.onSettings(parseSettings(p));
        return;
    }
  }

  /** Parses and validates a header block into `[name, value, …]`. */
  #block(p: Buffer, trailers: boolean): string[] {
    const out: string[] = [];
    const max = this.#limits.maxHeaderFields;
    let off = 0;
    let regular = false;
    while (off < p.length) {
      if (out.length / 2 >= max) throw new WireError('WEFT_ERR_WIRE_HEADERS_TOO_LARGE', `more than ${max} fields`);
      if (off + 2 > p.length) throw truncated();
      const nl = p.readUInt16BE(off);
      const ns = off + 2;
      if (ns + nl + 2 > p.length) throw truncated();
      const pseudo = checkNameBytes(p, ns, ns + nl);
      const vl = p.readUInt16BE(ns + nl);
      const vs = ns + nl + 2;
      if (vs + vl > p.length) throw truncated();
      checkValueBytes(p, vs, vs + vl);
      const name = p.toString('latin1', ns, ns + nl);
      const value = p.toString('latin1', vs, vs + vl);
      if (pseudo) {
        if (trailers || regular) throw new WireError('WEFT_ERR_WIRE_BAD_HEADERS', `pseudo-field ${name} ${trailers ? 'in trailers' : 'after a regular field'}`);
      } else {
        regular = true;
        checkNotConnectionSpecific(name, value);
      }
      out.push(name, value);
      off = vs + vl;
    }
    return out;
  }
}

function parseSettings(p: Buffer): Partial<WireSettings> {
  const out: Partial<Record<keyof WireSettings, number>> = {};
  for (let off = 0; off < p.length; off += 6) {
    const id = p.readUInt16BE(off);
    const value = p.readUInt32BE(off + 2);
    const def = SETTING_BY_ID.get(id);
    if (!def) throw badFrame(`unknown setting ${id}`);
    if (out[def.key] !== undefined) throw badFrame(`setting ${def.key} twice`);
    if (value < DEFAULT_SETTINGS[def.key] || value > def.max) throw badFrame(`setting ${def.key}=${value} outside ${DEFAULT_SETTINGS[def.key]}…${def.max}`);
    out[def.key] = value;
  }
  return out;
}

function badFrame(message: string): WireError {
  return new WireError('WEFT_ERR_WIRE_BAD_FRAME', message);
}

function truncated(): WireError {
  return new WireError('WEFT_ERR_WIRE_BAD_HEADERS', 'header block ends inside a field');
}
