/**
 * One `weft/1` stream: the send side (a credit-limited queue: `write()` false until credit and
 * the socket allow more) and the receive side (delivery to one handler object, a bounded buffer
 * while paused, stream credit returned on consumption). The session owns the framing.
 */
import { WireCode, WireError } from './frames';

/** What a stream's user receives. One object per stream; no closures per frame. */
export interface StreamHandler {
  /** The peer's head (client: the response head; a server gets the request head in `onStream`). */
  onHeaders(fields: string[], endStream: boolean): void;
  /** A piece of the body (already consumed: credit for it is returned unless the stream is paused). */
  onData(chunk: Buffer): void;
  /** The trailer section; `onEnd` follows. */
  onTrailers(fields: string[]): void;
  /** The peer's direction ended cleanly. */
  onEnd(): void;
  /** Writing may continue after `write()` returned false. */
  onDrain(): void;
  /** The stream failed: reset by the peer (`WEFT_ERR_WIRE_RESET`/`_REFUSED`) or the connection went (`_CLOSED`, …). */
  onError(err: WireError): void;
}

/** What a stream needs from its session (kept narrow so streams never touch the socket). */
export interface StreamOwner {
  /** The socket refused more bytes: writers wait for its drain. */
  readonly blocked: boolean;
  pump(stream: WeftStream): void;
  sendHeaders(stream: WeftStream, fields: readonly string[], endStream: boolean): void;
  sendReset(stream: WeftStream, code: number): void;
  returnCredit(stream: WeftStream, bytes: number): void;
  finished(stream: WeftStream): void;
}

const NO_HANDLER: StreamHandler = {
  onHeaders: () => undefined, onData: () => undefined, onTrailers: () => undefined,
  onEnd: () => undefined, onDrain: () => undefined, onError: () => undefined,
};

/** A multiplexed exchange on a WeftSession. */
export class WeftStream {
  /** The peer's head fields (request head on a server stream, response head on a client stream). */
  head: string[] | undefined;
  /** Send window (bytes of DATA the peer still accepts on this stream). */
  sendWindow: number;
  /** Receive window (bytes the peer may still send on this stream). */
  recvWindow: number;
  /** Bytes of DATA queued but not yet framed (no credit yet). */
  queuedBytes = 0;
  /** Unsent body pieces, oldest first. */
  readonly queue: Buffer[] = [];
  /** The local direction: head sent, end requested (after the queue), final frame framed. */
  headSent = false;
  endRequested = false;
  endSent = false;
  /** Trailers to send after the queue, when `end()` got some. */
  trailers: readonly string[] | undefined;
  /** The peer's direction ended (END_STREAM seen). */
  remoteEnded = false;
  /** Reset or failed: nothing more is sent or delivered. */
  closed = false;
  /** Owed stream credit not yet returned (batched). */
  owed = 0;
  /** write() returned false; onDrain is due when it would return true again. */
  needDrain = false;
  #handler: StreamHandler;
  #paused = false;
  #inbox: Buffer[] = [];
  #inboxTrailers: string[] | undefined;
  #inboxEnd = false;

  constructor(
    readonly id: number,
    readonly owner: StreamOwner,
    sendWindow: number,
    recvWindow: number,
    handler?: StreamHandler,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.#handler = handler ?? NO_HANDLER;
    // without a handler, arriving bytes wait (no credit) until one is attached
    this.#paused = handler === undefined;
  }

  /** Attaches the handler (server streams) and delivers what already arrived. */
  attach(handler: StreamHandler): void {
    this.#handler = handler;
    this.resume();
  }

  /** Sends the response head (server) — client streams send theirs on open. */
  respond(fields: readonly string[], endStream = false): void {
    if (this.headSent || this.closed) throw stateError(this, 'headers already sent or stream closed');
    this.owner.sendHeaders(this, fields, endStream);
  }

  /**
   * Queues body bytes. Returns false when they (or earlier ones) wait for credit or the socket:
   * stop writing until `onDrain`.
   */
  write(chunk: Buffer): boolean {
    if (this.closed) return false;
    if (!this.headSent || this.endRequested) throw stateError(this, 'write before headers or after end');
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      this.owner.pump(this);
    }
    if (this.queuedBytes > 0 || this.owner.blocked) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Ends the local direction after the queued bytes, with optional trailers. */
  end(trailers?: readonly string[]): void {
    if (this.closed || this.endRequested) return;
    if (!this.headSent) throw stateError(this, 'end before headers');
    this.endRequested = true;
    this.trailers = trailers && trailers.length > 0 ? trailers : undefined;
    this.owner.pump(this);
  }

  /** Abandons the stream: RESET to the peer, queued and buffered bytes dropped. */
  reset(code: number = WireCode.CANCEL): void {
    if (this.closed) return;
    this.owner.sendReset(this, code);
    this.#drop();
    this.owner.finished(this);
  }

  /** Stops delivery: bytes are buffered and their stream credit withheld (the sender slows down). */
  pause(): void {
    this.#paused = true;
  }

  /** Delivers buffered bytes (returning their credit) and continues delivering. */
  resume(): void {
    this.#paused = false;
    while (this.#inbox.length > 0 && !this.#paused && !this.closed) {
      const c = this.#inbox.shift() as Buffer;
      this.#handler.onData(c);
      this.owner.returnCredit(this, c.length);
    }
    if (this.#paused || this.closed || this.#inbox.length > 0) return;
    this.#finishRemote();
  }

  /** True while delivery is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Bytes received but not yet delivered (paused). */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.#inbox) n += c.length;
    return n;
  }

  // --- called by the session ---------------------------------------------------------------

  /** The peer's head arrived (client stream). */
  deliverHeaders(fields: string[], end: boolean): void {
    this.head = fields;
    this.#handler.onHeaders(fields, end);
    if (end) this.deliverEnd(undefined);
  }

  /** A piece of DATA arrived (already counted against the windows). */
  deliverData(chunk: Buffer): void {
    if (this.#paused || this.#inbox.length > 0) {
      if (chunk.length > 0) this.#inbox.push(chunk);
      return;
    }
    if (chunk.length === 0) return;
    this.#handler.onData(chunk);
    this.owner.returnCredit(this, chunk.length);
  }

  /** The peer's direction ended, with trailers or not. */
  deliverEnd(trailers: string[] | undefined): void {
    this.remoteEnded = true;
    this.#inboxTrailers = trailers;
    this.#inboxEnd = true;
    if (!this.#paused && this.#inbox.length === 0) this.#finishRemote();
  }

  /** Credit or socket space became available: onDrain if a writer waits and the queue is empty. */
  drained(): void {
    if (this.needDrain && this.queuedBytes === 0 && !this.closed) {
      this.needDrain = false;
      this.#handler.onDrain();
    }
  }

  /** The stream failed (peer reset, connection error or close). */
  fail(err: WireError): void {
    if (this.closed) return;
    this.#drop();
    this.#handler.onError(err);
  }

  #finishRemote(): void {
    if (!this.#inboxEnd) return;
    this.#inboxEnd = false;
    const t = this.#inboxTrailers;
    this.#inboxTrailers = undefined;
    if (t) this.#handler.onTrailers(t);
    this.#handler.onEnd();
    this.owner.finished(this);
  }

  #drop(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.#inbox = [];
    this.#inboxEnd = false;
  }
}

function stateError(s: WeftStream, what: string): WireError {
  return new WireError('WEFT_ERR_WIRE_STREAM_STATE', `stream ${s.id}: ${what}`);
}
