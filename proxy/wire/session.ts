/**
 * A `weft/1` connection: many streams over one socket (mTLS between sidecars), credit-based flow
 * control per stream and per connection, RESET, GOAWAY drain, and every frame produced in one
 * event-loop turn flushed in one corked write. Spec: docs/proxy-protocol.md.
 */
import type { Duplex } from 'node:stream';
import { FrameDecoder, type FrameSink } from './decode';
import { dataHead, goawayFrame, headersFrame, pingFrame, resetFrame, settingsFrame, windowFrame } from './encode';
import { DEFAULT_SETTINGS, MAX_WINDOW, WireCode, WireError, type WireSettings } from './frames';
import { checkRequestHead, checkResponseHead } from './heads';
import { type StreamHandler, type StreamOwner, WeftStream } from './stream';
import { type BatchStats, WriteBatch } from './batch';

/** How a session is set up. */
export interface SessionOptions {
  /** `client` dials and opens streams; `server` accepts them. */
  readonly role: 'client' | 'server';
  /** What this side accepts (sent in SETTINGS). @default DEFAULT_SETTINGS */
  readonly settings?: Partial<WireSettings>;
  /** Server: a stream's request head arrived; attach a handler synchronously or later. @default - streams are refused */
  readonly onStream?: (stream: WeftStream) => void;
  /** The connection ended: `undefined` after a clean close or drain, else the error. */
  readonly onClose?: (err: WireError | undefined) => void;
}

/** One multiplexed `weft/1` connection. */
export class WeftSession implements FrameSink, StreamOwner {
  readonly local: WireSettings;
  #peer: WireSettings = DEFAULT_SETTINGS;
  readonly #socket: Duplex;
  readonly #role: 'client' | 'server';
  readonly #opts: SessionOptions;
  readonly #decoder: FrameDecoder;
  readonly #streams = new Map<number, WeftStream>();
  readonly #waiting = new Set<WeftStream>();
  #nextId = 1;
  #lastPeerId = 0;
  #sendConn = DEFAULT_SETTINGS.initialConnectionWindow;
  #recvConn: number;
  #connOwed = 0;
  readonly #batch: WriteBatch;
  #goawaySent = false;
  #goawayReceived = false;
  #closed = false;
  #ended = false;
  readonly #closeWaiters: ((err: WireError | undefined) => void)[] = [];
  #closeError: WireError | undefined;

  constructor(socket: Duplex, opts: SessionOptions) {
    this.#socket = socket;
    this.#role = opts.role;
    this.#opts = opts;
    this.local = Object.freeze({ ...DEFAULT_SETTINGS, ...opts.settings });
    this.#recvConn = this.local.initialConnectionWindow;
    this.#decoder = new FrameDecoder(this, this.local);
    this.#batch = new WriteBatch(socket);
    this.#queue(settingsFrame(this.local));
    socket.on('data', (chunk: Buffer) => this.#onBytes(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', () => undefined); // 'close' follows and fails the streams
    socket.on('close', () => this.#onSocketClose());
    socket.on('end', () => {
      if (!this.#ended) socket.end();
    });
  }

  /** Write counters (flushes per turn, buffers). */
  get stats(): BatchStats {
    return this.#batch.stats;
  }

  /** The socket the session runs on (for the peer certificate). */
  get socket(): Duplex {
    return this.#socket;
  }

  /** The peer's settings (defaults until its SETTINGS arrives). */
  get peer(): WireSettings {
    return this.#peer;
  }

  /** Open streams. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** True when a new stream may be opened now (client). */
  get canOpen(): boolean {
    return !this.#closed && !this.#goawaySent && !this.#goawayReceived && this.#streams.size < this.#peer.maxConcurrentStreams && this.#nextId <= MAX_WINDOW;
  }

  /** The socket refused bytes; DATA waits for its drain. */
  get blocked(): boolean {
    return this.#batch.blocked;
  }

  /** True once the connection failed or closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Client: opens a stream with its request head (`:method`, `:scheme`, `:authority`, `:path`
   * first). Throws WEFT_ERR_WIRE_GOAWAY / _STREAM_LIMIT / _CLOSED / _BAD_HEADERS; nothing is sent then.
   */
  openStream(fields: readonly string[], endStream: boolean, handler: StreamHandler): WeftStream {
    if (this.#role !== 'client') throw new WireError('WEFT_ERR_WIRE_STREAM_STATE', 'only the client side opens streams');
    if (this.#closed) throw new WireError('WEFT_ERR_WIRE_CLOSED', 'the connection is closed');
    if (this.#goawaySent || this.#goawayReceived) throw new WireError('WEFT_ERR_WIRE_GOAWAY', 'the connection is draining');
    if (this.#streams.size >= this.#peer.maxConcurrentStreams || this.#nextId > MAX_WINDOW) {
      throw new WireError('WEFT_ERR_WIRE_STREAM_LIMIT', `the peer allows ${this.#peer.maxConcurrentStreams} concurrent streams`);
    }
    checkRequestHead(fields);
    const frame = headersFrame(this.#nextId, fields, endStream, this.#peer);
    const s = new WeftStream(this.#nextId, this, this.#peer.initialStreamWindow, this.local.initialStreamWindow, handler);
    this.#nextId += 2;
    this.#streams.set(s.id, s);
    this.#markHeadSent(s, endStream);
    this.#queue(frame);
    return s;
  }

  /** Graceful drain: GOAWAY, serve what is open, close when the last stream ends. */
  close(debug = ''): Promise<WireError | undefined> {
    const done = this.whenClosed();
    if (!this.#goawaySent && !this.#closed) {
      this.#goawaySent = true;
      this.#queue(goawayFrame(this.#role === 'server' ? this.#lastPeerId : 0, WireCode.NO_ERROR, debug));
    }
    this.#maybeEnd();
    return done;
  }

  /** Resolves when the connection has closed (with its error, if any). */
  whenClosed(): Promise<WireError | undefined> {
    if (this.#closed && this.#socket.destroyed) return Promise.resolve(this.#closeError);
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** Ends at once: streams fail with WEFT_ERR_WIRE_CLOSED, the socket is destroyed. */
  destroy(): void {
    this.#failAll(new WireError('WEFT_ERR_WIRE_CLOSED', 'the connection was destroyed'));
    this.#socket.destroy();
  }

  // --- StreamOwner ---------------------------------------------------------------------------

  sendHeaders(s: WeftStream, fields: readonly string[], endStream: boolean): void {
    checkResponseHead(fields);
    this.#queue(headersFrame(s.id, fields, endStream, this.#peer));
    this.#markHeadSent(s, endStream);
    this.finished(s);
  }

  sendReset(s: WeftStream, code: number): void {
    if (!this.#closed) this.#queue(resetFrame(s.id, code));
  }

  /** Frames as much of the stream's queue as credit and the socket allow; then its end. */
  pump(s: WeftStream): void {
    if (s.closed || !s.headSent || s.endSent || this.#closed) return;
    while (s.queue.length > 0) {
      if (this.#batch.blocked) return;
      const credit = Math.min(s.sendWindow, this.#sendConn, this.#peer.maxFrame);
      if (credit <= 0) {
        if (s.sendWindow > 0) this.#waiting.add(s);
        return;
      }
      let c = s.queue[0];
      if (c.length > credit) {
        s.queue[0] = c.subarray(credit);
        c = c.subarray(0, credit);
      } else s.queue.shift();
      const last = s.queue.length === 0 && s.endRequested && s.trailers === undefined;
      s.sendWindow -= c.length;
      this.#sendConn -= c.length;
      s.queuedBytes -= c.length;
      this.#queue(dataHead(s.id, c.length, last));
      this.#queue(c);
      if (last) s.endSent = true;
    }
    if (s.endRequested && !s.endSent) {
      let frame: Buffer;
      try {
        frame = s.trailers ? headersFrame(s.id, s.trailers, true, this.#peer, true) : dataHead(s.id, 0, true);
      } catch (e) {
        this.sendReset(s, WireCode.INTERNAL);
        s.fail(e as WireError);
        this.finished(s);
        return;
      }
      this.#queue(frame);
      s.endSent = true;
    }
    if (s.endSent) this.finished(s);
    if (!this.#batch.blocked) s.drained();
  }

  /** Stream credit for consumed bytes, returned in batches of half a window. */
  returnCredit(s: WeftStream, bytes: number): void {
    if (s.remoteEnded || s.closed) return;
    s.owed += bytes;
    if (s.owed >= this.local.initialStreamWindow >>> 1) {
      this.#queue(windowFrame(s.id, s.owed));
      s.recvWindow += s.owed;
      s.owed = 0;
    }
  }

  /** Forgets a stream once both directions ended or it was reset. */
  finished(s: WeftStream): void {
    if (!s.closed && !(s.endSent && s.remoteEnded)) return;
    s.closed = true;
    this.#streams.delete(s.id);
    this.#waiting.delete(s);
    this.#maybeEnd();
  }

  // --- FrameSink -----------------------------------------------------------------------------

  onSettings(settings: Partial<WireSettings>): void {
    this.#peer = Object.freeze({ ...DEFAULT_SETTINGS, ...settings });
    const dStream = this.#peer.initialStreamWindow - DEFAULT_SETTINGS.initialStreamWindow;
    this.#sendConn += this.#peer.initialConnectionWindow - DEFAULT_SETTINGS.initialConnectionWindow;
    for (const s of this.#streams.values()) {
      s.sendWindow += dStream;
      this.pump(s);
    }
  }

  onHeaders(id: number, fields: string[], endStream: boolean): void {
    const s = this.#streams.get(id);
    if (this.#role === 'client') {
      if (!s) return this.#unknownStream(id);
      if (s.head !== undefined) return this.#streamError(s, 'a second HEADERS frame', 'WEFT_ERR_WIRE_BAD_FRAME');
      try {
        checkResponseHead(fields);
      } catch (e) {
        return this.#streamError(s, (e as Error).message);
      }
      s.deliverHeaders(fields, endStream);
      return;
    }
    if (s) return this.#streamError(s, 'a second HEADERS frame', 'WEFT_ERR_WIRE_BAD_FRAME');
    if (id % 2 === 0) throw new WireError('WEFT_ERR_WIRE_BAD_FRAME', `stream id ${id} is even`);
    if (id <= this.#lastPeerId) return; // a stream that already ended: late frames are ignored
    this.#lastPeerId = id;
    if (this.#goawaySent || this.#streams.size >= this.local.maxConcurrentStreams || !this.#opts.onStream) {
      this.#queue(resetFrame(id, WireCode.REFUSED));
      return;
    }
    try {
      checkRequestHead(fields);
    } catch {
      this.#queue(resetFrame(id, WireCode.PROTOCOL));
      return;
    }
    const ns = new WeftStream(id, this, this.#peer.initialStreamWindow, this.local.initialStreamWindow);
    ns.head = fields;
    this.#streams.set(id, ns);
    if (endStream) ns.deliverEnd(undefined);
    this.#opts.onStream(ns);
  }

  onData(id: number, chunk: Buffer, end: boolean): void {
    const n = chunk.length;
    this.#recvConn -= n;
    if (this.#recvConn < 0) throw new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', 'DATA beyond the connection window');
    // connection credit is granted as bytes are accepted into a stream: a paused stream never blocks the others
    this.#connOwed += n;
    const s = this.#streams.get(id);
    if (!s) {
      this.#unknownStream(id);
      this.#flushCredit(true);
      return;
    }
    this.#flushCredit(false);
    if (s.remoteEnded) return this.#streamError(s, 'DATA after END_STREAM', 'WEFT_ERR_WIRE_BAD_FRAME');
    s.recvWindow -= n;
    if (s.recvWindow < 0) throw new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', `DATA beyond the window of stream ${id}`);
    if (this.#role === 'client' && s.head === undefined) return this.#streamError(s, 'DATA before HEADERS', 'WEFT_ERR_WIRE_BAD_FRAME');
    s.deliverData(chunk);
    if (end && !s.closed) s.deliverEnd(undefined);
  }

  onTrailers(id: number, fields: string[]): void {
    const s = this.#streams.get(id);
    if (!s) return this.#unknownStream(id);
    if (s.head === undefined || s.remoteEnded) return this.#streamError(s, 'TRAILERS out of order', 'WEFT_ERR_WIRE_BAD_FRAME');
    s.deliverEnd(fields);
  }

  onReset(id: number, code: number): void {
    const s = this.#streams.get(id);
    if (!s) return;
    if (code === WireCode.NO_ERROR && s.remoteEnded) {
      // the peer has all it needs (its response ended before our body): stop sending, no error
      s.closed = true;
      s.queue.length = 0;
      s.queuedBytes = 0;
      this.finished(s);
      return;
    }
    s.fail(code === WireCode.REFUSED
      ? new WireError('WEFT_ERR_WIRE_REFUSED', `stream ${id} refused by the peer`, code)
      : new WireError('WEFT_ERR_WIRE_RESET', `stream ${id} reset by the peer (code ${code})`, code));
    this.finished(s);
  }

  onWindow(id: number, inc: number): void {
    if (id === 0) {
      this.#sendConn += inc;
      if (this.#sendConn > MAX_WINDOW) throw new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', 'connection window over 2^31-1');
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const s of waiting) this.pump(s);
      return;
    }
    const s = this.#streams.get(id);
    if (!s) return;
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) throw new WireError('WEFT_ERR_WIRE_FLOW_CONTROL', `window of stream ${id} over 2^31-1`);
    this.pump(s);
  }

  onPing(ack: boolean, payload: Buffer): void {
    if (!ack) this.#queue(pingFrame(true, payload));
  }

  onGoaway(lastStreamId: number, code: number, debug: string): void {
    this.#goawayReceived = true;
    if (this.#role === 'client') {
      for (const s of [...this.#streams.values()]) {
        if (s.id > lastStreamId) {
          s.fail(new WireError('WEFT_ERR_WIRE_REFUSED', `stream ${s.id} not processed before GOAWAY (${code}${debug ? `: ${debug}` : ''})`, WireCode.REFUSED));
          this.finished(s);
        }
      }
    }
    this.#maybeEnd();
  }

  // --- internals -----------------------------------------------------------------------------

  #markHeadSent(s: WeftStream, endStream: boolean): void {
    s.headSent = true;
    if (endStream) {
      s.endRequested = true;
      s.endSent = true;
    }
  }

  /** A frame for a stream not open: a late frame of an ended stream is ignored, an idle id is an error. */
  #unknownStream(id: number): void {
    const known = this.#role === 'client' ? id % 2 === 1 && id < this.#nextId : id % 2 === 1 && id <= this.#lastPeerId;
    if (!known) throw new WireError('WEFT_ERR_WIRE_BAD_FRAME', `frame for stream ${id}, which was never opened`);
  }

  /** A stream-level protocol error: RESET PROTOCOL to the peer, the stream fails locally. */
  #streamError(s: WeftStream, why: string, code: 'WEFT_ERR_WIRE_BAD_HEADERS' | 'WEFT_ERR_WIRE_BAD_FRAME' = 'WEFT_ERR_WIRE_BAD_HEADERS'): void {
    this.sendReset(s, WireCode.PROTOCOL);
    s.fail(new WireError(code, `stream ${s.id}: ${why}`));
    this.finished(s);
  }

  /** Grants connection credit once half a window is owed (or at once when `now`). */
  #flushCredit(now: boolean): void {
    if (this.#connOwed > 0 && (now || this.#connOwed >= this.local.initialConnectionWindow >>> 1)) {
      this.#queue(windowFrame(0, this.#connOwed));
      this.#recvConn += this.#connOwed;
      this.#connOwed = 0;
    }
  }

  #onBytes(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      this.#connectionError(e instanceof WireError ? e : new WireError('WEFT_ERR_WIRE_BAD_FRAME', `stream handler failed: ${(e as Error)?.message}`, WireCode.INTERNAL));
    }
  }

  /** GOAWAY with the error, flush, close; every open stream fails with it. */
  #connectionError(err: WireError): void {
    if (this.#closed) return;
    this.#queue(goawayFrame(this.#lastPeerId, err.wireCode, err.message.slice(0, 200)));
    this.#batch.flush();
    this.#failAll(err);
    this.#ended = true;
    this.#socket.end();
  }

  #failAll(err: WireError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err;
    for (const s of [...this.#streams.values()]) s.fail(err);
    this.#streams.clear();
    this.#waiting.clear();
  }

  #onDrain(): void {
    this.#batch.blocked = false;
    for (const s of [...this.#streams.values()]) {
      this.pump(s);
      s.drained();
    }
  }

  #onSocketClose(): void {
    if (!this.#closed) {
      // nothing lost when no stream was open and no frame was cut short (an idle pooled connection closing)
      const clean = this.#streams.size === 0 && this.#decoder.idle;
      if (clean) this.#closed = true;
      else this.#failAll(new WireError('WEFT_ERR_WIRE_CLOSED', 'the connection closed with streams open'));
    }
    this.#opts.onClose?.(this.#closeError);
    for (const w of this.#closeWaiters.splice(0)) w(this.#closeError);
  }

  /** After GOAWAY (either way), the connection ends once no stream is left. */
  #maybeEnd(): void {
    if (this.#ended || !(this.#goawaySent || this.#goawayReceived) || this.#streams.size > 0) return;
    this.#ended = true;
    this.#batch.flush();
    this.#socket.end();
  }

  #queue(buf: Buffer): void {
    this.#batch.push(buf);
  }
}
