/**
 * Incremental HTTP/1.1 parser for the lean engine's app legs (requests on the outbound listener,
 * responses from the app): heads via h1-head.ts, then content-length, chunked (with trailers),
 * close-delimited and tunnel bodies, streamed as zero-copy slices to one sink object.
 * `pause()` stops delivery at once (the caller also pauses the socket): exact backpressure.
 */
import { DEFAULT_H1_LIMITS, H1Error, type H1Head, type H1Limits, parseFieldLines, parseHead } from './h1-head';

/** Receives parsed messages; one object per connection. */
export interface H1Sink {
  onHead(head: H1Head): void;
  onBody(chunk: Buffer): void;
  /** The trailer section of a chunked body (`[name, value, …]`), before onEnd. */
  onTrailers(fields: string[]): void;
  /** The message is complete (the next one may follow on the connection). */
  onEnd(): void;
}

const enum S { Head, Length, ChunkSize, ChunkData, ChunkEnd, Trailers, Close, Tunnel }
const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Longest chunk-size line (size, extensions). */
const MAX_CHUNK_LINE = 4096;

/** Parses one connection's messages, in order. After an error it stays failed. */
export class H1Parser {
  readonly #sink: H1Sink;
  readonly #request: boolean;
  readonly #limits: H1Limits;
  readonly #methods: string[] = [];
  #state = S.Head;
  #acc: Buffer | undefined;
  #pending: Buffer | undefined;
  #remaining = 0;
  #crlf = 0;
  #paused = false;
  #error: H1Error | undefined;

  constructor(sink: H1Sink, opts: { readonly request: boolean; readonly limits?: H1Limits }) {
    this.#sink = sink;
    this.#request = opts.request;
    this.#limits = opts.limits ?? DEFAULT_H1_LIMITS;
  }

  /** Response parser: the method of the next request sent (a HEAD response has no body). */
  expect(method: string): void {
    this.#methods.push(method);
  }

  /** True between messages with nothing buffered (a clean place to close or reuse the connection). */
  get idle(): boolean {
    return this.#state === S.Head && this.#acc === undefined && this.#pending === undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Stops delivery; bytes pushed meanwhile are kept (bounded by the caller pausing its socket). */
  pause(): void {
    this.#paused = true;
  }

  /** Continues delivery with what was kept. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#state === S.Tunnel || this.#pending === undefined) return;
    const p = this.#pending;
    this.#pending = undefined;
    this.push(p);
  }

  /** After a tunnel head (Upgrade, CONNECT, 101): the bytes received past the head. */
  takeRemainder(): Buffer {
    const r = this.#pending ?? Buffer.alloc(0);
    this.#pending = undefined;
    return r;
  }

  /** Feeds bytes. Throws an H1Error on bad input; the connection must then close. */
  push(chunk: Buffer): void {
    if (this.#error) throw this.#error;
    if (this.#pending !== undefined) {
      chunk = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    if (this.#paused || this.#state === S.Tunnel) {
      this.#pending = chunk;
      return;
    }
    try {
      this.#run(chunk);
    } catch (e) {
      if (e instanceof H1Error) this.#error = e;
      throw e;
    }
  }

  /** The peer closed its side: ends a close-delimited body; throws WEFT_ERR_H1_INCOMPLETE mid-message. */
  finish(): void {
    if (this.#error) return;
    if (this.#state === S.Close) {
      this.#state = S.Head;
      this.#sink.onEnd();
      return;
    }
    if (this.#state === S.Tunnel || (this.#state === S.Head && this.#acc === undefined && this.#pending === undefined)) return;
    this.#error = new H1Error('WEFT_ERR_H1_INCOMPLETE', 'the connection closed in the middle of a message');
    throw this.#error;
  }

  #run(buf: Buffer): void {
    let off = 0;
    const n = buf.length;
    while (off < n) {
      if (this.#paused || this.#state === S.Tunnel) {
        this.#pending = buf.subarray(off);
        return;
      }
      switch (this.#state) {
        case S.Head:
          off = this.#head(buf, off);
          break;
        case S.Length: {
          const take = Math.min(this.#remaining, n - off);
          this.#remaining -= take;
          const piece = buf.subarray(off, off + take);
          off += take;
          if (this.#remaining === 0) this.#state = S.Head;
          this.#sink.onBody(piece);
          if (this.#remaining === 0) this.#sink.onEnd();
          break;
        }
        case S.ChunkSize:
          off = this.#chunkSize(buf, off);
          break;
        case S.ChunkData: {
          const take = Math.min(this.#remaining, n - off);
          this.#remaining -= take;
          const piece = buf.subarray(off, off + take);
          off += take;
          if (this.#remaining === 0) {
            this.#state = S.ChunkEnd;
            this.#crlf = 0;
          }
          this.#sink.onBody(piece);
          break;
        }
        case S.ChunkEnd:
          if (buf[off] !== (this.#crlf === 0 ? 13 : 10)) throw new H1Error('WEFT_ERR_H1_BAD_CHUNK', 'chunk data not followed by CRLF');
          off++;
          if (++this.#crlf === 2) this.#state = S.ChunkSize;
          break;
        case S.Trailers:
          off = this.#trailers(buf, off);
          break;
        case S.Close: {
          const piece = off === 0 ? buf : buf.subarray(off);
          off = n;
          this.#sink.onBody(piece);
          break;
        }
      }
    }
  }

  /** Collects bytes up to a complete block ending in CRLFCRLF (or a lone CRLF when `allowEmpty`). */
  #collect(buf: Buffer, off: number, allowEmpty: boolean, skipLeading: boolean): { data: Buffer; end: number; next: number } | number {
    let data = this.#acc === undefined ? buf.subarray(off) : Buffer.concat([this.#acc, buf.subarray(off)]);
    const before = this.#acc === undefined ? 0 : this.#acc.length;
    let start = 0;
    // RFC 9112 §2.2: empty lines before a request line are ignored
    while (skipLeading && data.length - start >= 2 && data[start] === 13 && data[start + 1] === 10) start += 2;
    if (allowEmpty && data.length - start >= 2 && data[start] === 13 && data[start + 1] === 10) {
      this.#acc = undefined;
      return { data, end: start, next: off + (start + 2 - before) };
    }
    const idx = data.indexOf(CRLFCRLF, start);
    const scanTo = idx < 0 ? data.length : idx + 4;
    // a bare LF would end a line for some parsers and not others: refused (llhttp strict)
    for (let i = data.indexOf(10, start); i >= 0 && i < scanTo; i = data.indexOf(10, i + 1)) {
      if (i === start || data[i - 1] !== 13) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', 'bare LF in a message head');
    }
    if (idx < 0) {
      if (data.length - start > this.#limits.maxHeadBytes) throw new H1Error('WEFT_ERR_H1_HEAD_TOO_LARGE', `head over ${this.#limits.maxHeadBytes} bytes`);
      this.#acc = start > 0 ? data.subarray(start) : data;
      if (this.#acc.length === 0) this.#acc = undefined;
      return buf.length;
    }
    if (idx + 4 - start > this.#limits.maxHeadBytes) throw new H1Error('WEFT_ERR_H1_HEAD_TOO_LARGE', `head over ${this.#limits.maxHeadBytes} bytes`);
    this.#acc = undefined;
    if (start > 0) data = data.subarray(start);
    return { data, end: idx + 2 - start, next: off + (idx + 4 - before) };
  }

  #head(buf: Buffer, off: number): number {
    const got = this.#collect(buf, off, false, true);
    if (typeof got === 'number') return got;
    const method = this.#request ? '' : this.#methods[0] ?? 'GET';
    const head = parseHead(got.data, 0, got.end, this.#request, method, this.#limits);
    if (!this.#request && head.status >= 200) this.#methods.shift();
    switch (head.body) {
      case 'length':
        this.#state = S.Length;
        this.#remaining = head.contentLength;
        break;
      case 'chunked':
        this.#state = S.ChunkSize;
        this.#acc = undefined;
        break;
      case 'close':
        this.#state = S.Close;
        break;
      case 'tunnel':
        this.#state = S.Tunnel;
        break;
      default:
        this.#state = S.Head;
    }
    this.#sink.onHead(head);
    // a head without body is a whole message, except an interim (1xx) response
    if (head.body === 'none' && (this.#request || head.status >= 200)) this.#sink.onEnd();
    return got.next;
  }

  #chunkSize(buf: Buffer, off: number): number {
    const lf = buf.indexOf(10, off);
    const accLen = this.#acc === undefined ? 0 : this.#acc.length;
    if (lf < 0) {
      if (accLen + buf.length - off > MAX_CHUNK_LINE) throw new H1Error('WEFT_ERR_H1_BAD_CHUNK', 'chunk-size line too long');
      this.#acc = this.#acc === undefined ? Buffer.from(buf.subarray(off)) : Buffer.concat([this.#acc, buf.subarray(off)]);
      return buf.length;
    }
    const lineBuf = this.#acc === undefined ? buf.subarray(off, lf + 1) : Buffer.concat([this.#acc, buf.subarray(off, lf + 1)]);
    this.#acc = undefined;
    if (lineBuf.length > MAX_CHUNK_LINE) throw new H1Error('WEFT_ERR_H1_BAD_CHUNK', 'chunk-size line too long');
    const line = lineBuf.toString('latin1');
    const m = /^([0-9a-fA-F]{1,13})[ \t]*(;[\t\x20-\x7e\x80-\xff]*)?\r\n$/.exec(line);
    if (!m) throw new H1Error('WEFT_ERR_H1_BAD_CHUNK', `malformed chunk-size line ${JSON.stringify(line.slice(0, 40))}`);
    const size = parseInt(m[1], 16);
    if (size === 0) {
      this.#state = S.Trailers;
    } else {
      this.#state = S.ChunkData;
      this.#remaining = size;
    }
    return lf + 1;
  }

  #trailers(buf: Buffer, off: number): number {
    const got = this.#collect(buf, off, true, false);
    if (typeof got === 'number') return got;
    this.#state = S.Head;
    if (got.end > 0) {
      const fields: string[] = [];
      parseFieldLines(got.data, 0, got.end, fields, this.#limits);
      this.#sink.onTrailers(fields);
    }
    this.#sink.onEnd();
    return got.next;
  }
}
