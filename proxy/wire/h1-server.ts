/**
 * A lean HTTP/1.1 server connection on a raw socket (the app-facing listener of the engine): one
 * exchange at a time (pipelined requests wait, paused, until the response ended), request bodies
 * streamed with backpressure (pause() pauses parser and socket), responses framed by length or
 * chunked with trailers, `100-continue` answered on first read, bad input answered 400/431 with
 * `weft-error` and the connection closed, and a headers timeout against slowloris.
 */
import type { Socket } from 'node:net';
import { DEFAULT_H1_LIMITS, fieldOf, H1Error, type H1Head, type H1Limits } from './h1-head';
import { H1Parser, type H1Sink } from './h1-parse';
import { lastChunk, responseHead, writeBodyChunk } from './h1-write';

/** What an exchange's user receives: the request body and the connection's events. */
export interface H1BodyHandler {
  onBody(chunk: Buffer): void;
  onTrailers(fields: string[]): void;
  /** The request body ended. */
  onEnd(): void;
  /** `write()` may continue after it returned false. */
  onDrain(): void;
  /** The client went away before the response ended. */
  onAbort(): void;
}

/** Options of a server connection. */
export interface H1ServerOptions {
  /** Called with each request head; attach a body handler (at once or later) and respond. */
  readonly onRequest: (ex: H1ServerExchange) => void;
  /** Head limits. @default DEFAULT_H1_LIMITS (60 KiB, 100 fields) */
  readonly limits?: H1Limits;
  /** Time to receive a complete head once one is awaited; then 408 and close. @default 10000 */
  readonly headersTimeoutMs?: number;
}

const REASON_OF: Record<string, string> = { WEFT_ERR_H1_HEAD_TOO_LARGE: 'headers_too_large', WEFT_ERR_H1_BAD_HEADER: 'bad_header' };

/** Serves HTTP/1.1 on `socket` until it closes. */
export function serveH1(socket: Socket, opts: H1ServerOptions): H1ServerConn {
  return new H1ServerConn(socket, opts);
}

/** One client connection. */
export class H1ServerConn implements H1Sink {
  readonly socket: Socket;
  readonly #opts: H1ServerOptions;
  readonly #parser: H1Parser;
  #current: H1ServerExchange | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(socket: Socket, opts: H1ServerOptions) {
    this.socket = socket;
    this.#opts = opts;
    this.#parser = new H1Parser(this, { request: true, limits: opts.limits ?? DEFAULT_H1_LIMITS });
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.#onBytes(c));
    socket.on('drain', () => this.#current?.drained());
    socket.on('end', () => this.#onEof());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#onClose());
    this.#armTimer();
  }

  // --- H1Sink ---
  onHead(head: H1Head): void {
    this.#clearTimer();
    // nothing more is parsed until the exchange wants its body (and, after it, until the response ended)
    this.#parser.pause();
    const ex = new H1ServerExchange(this, head);
    this.#current = ex;
    if (head.body === 'tunnel') {
      ex.reject(405, 'connect_unsupported');
      return;
    }
    this.#opts.onRequest(ex);
  }
  onBody(chunk: Buffer): void {
    this.#current?.deliverBody(chunk);
  }
  onTrailers(fields: string[]): void {
    this.#current?.deliverTrailers(fields);
  }
  onEnd(): void {
    const ex = this.#current;
    // a request without body is complete at its head (onHead paused the parser already)
    if (ex === undefined || ex.head.body === 'none') return;
    this.#parser.pause();
    ex.deliverEnd();
  }

  // --- used by the exchange ---
  /** Lets the parser deliver body bytes (or, after a response, the next request). */
  resumeParsing(): void {
    if (this.#closed) return;
    this.socket.resume();
    this.#parser.resume();
  }
  pauseParsing(): void {
    this.#parser.pause();
    this.socket.pause();
  }
  /** The exchange's response ended: reuse the connection or close it. */
  exchangeDone(ex: H1ServerExchange, reusable: boolean): void {
    if (this.#current === ex) this.#current = undefined;
    if (!reusable) {
      this.socket.end();
      return;
    }
    this.#armTimer();
    this.resumeParsing();
  }

  #onBytes(c: Buffer): void {
    try {
      this.#parser.push(c);
    } catch (e) {
      if (!(e instanceof H1Error)) throw e;
      this.#fail(e);
    }
  }

  /** A bad request: 400/431 with the reason, never dispatched, connection closed. */
  #fail(e: H1Error): void {
    this.#clearTimer();
    const inFlight = this.#current;
    if (inFlight && inFlight.responseStarted) {
      this.socket.destroy();
      return;
    }
    const reason = REASON_OF[e.code] ?? 'bad_request';
    this.socket.end(responseHead(e.status, e.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request', ['connection', 'close', 'weft-error', reason, 'content-length', '0']));
    inFlight?.deliverAbort();
  }

  #onEof(): void {
    try {
      this.#parser.finish();
    } catch {
      this.#current?.deliverAbort();
    }
    if (this.#current === undefined) this.socket.end();
  }

  #onClose(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#current?.deliverAbort();
    this.#current = undefined;
  }

  #armTimer(): void {
    const ms = this.#opts.headersTimeoutMs ?? 10_000;
    if (ms <= 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#current !== undefined || this.#closed) return;
      this.socket.end(responseHead(408, 'Request Timeout', ['connection', 'close', 'weft-error', 'request_timeout', 'content-length', '0']));
      this.socket.destroySoon();
    }, ms);
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** One request and its response. */
export class H1ServerExchange {
  #handler: H1BodyHandler | undefined;
  #requestEnded = false;
  #trailers: string[] | undefined;
  #chunked = false;
  #ended = false;
  #aborted = false;
  #needDrain = false;
  /** The response's end is known from its framing (chunked, content-length, or no body). */
  #delimited = false;
  /** `connection: close` was sent: the connection ends with this response. */
  #closeAnnounced = false;
  responseStarted = false;

  constructor(readonly conn: H1ServerConn, readonly head: H1Head) {
    this.#requestEnded = head.body === 'none';
  }

  /** True once the whole request body arrived. */
  get requestEnded(): boolean {
    return this.#requestEnded;
  }

  /** Starts body delivery to `handler` (answers `expect: 100-continue` first). */
  attach(handler: H1BodyHandler): void {
    this.#handler = handler;
    if (this.#requestEnded) {
      handler.onEnd();
      return;
    }
    if (fieldOf(this.head.fields, 'expect')?.toLowerCase() === '100-continue' && !this.responseStarted) {
      this.conn.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.conn.resumeParsing();
  }

  /** Body backpressure: stops reading the socket. */
  pause(): void {
    if (!this.#requestEnded) this.conn.pauseParsing();
  }
  resume(): void {
    if (!this.#requestEnded && this.#handler) this.conn.resumeParsing();
  }

  /**
   * Writes the response head. With a `content-length` field the body is that long; otherwise it
   * is chunked (HTTP/1.1) or close-delimited (HTTP/1.0); HEAD, 204 and 304 have none.
   */
  respond(status: number, reason: string, fields: readonly string[]): void {
    if (this.responseStarted || this.#aborted) return;
    this.responseStarted = true;
    const out = fields.slice();
    const noBody = this.head.method === 'HEAD' || status === 204 || status === 304;
    this.#delimited = noBody || fieldOf(fields, 'content-length') !== undefined;
    if (!this.#delimited && this.head.minor === 1) {
      this.#chunked = true;
      this.#delimited = true;
      out.push('transfer-encoding', 'chunked');
    }
    // a body still arriving does not decide it yet: end() closes then if it never finished
    if (!this.head.keepAlive || !this.#delimited) {
      this.#closeAnnounced = true;
      out.push('connection', 'close');
    }
    this.conn.socket.write(responseHead(status, reason, out));
  }

  /** Writes body bytes; false means wait for onDrain. */
  write(chunk: Buffer): boolean {
    if (this.#ended || this.#aborted || chunk.length === 0) return !this.#aborted;
    const ok = writeBodyChunk(this.conn.socket, chunk, this.#chunked);
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** Ends the response (trailers only on a chunked one). */
  end(trailers?: readonly string[]): void {
    if (this.#ended || this.#aborted) return;
    this.#ended = true;
    if (this.#chunked) this.conn.socket.write(lastChunk(trailers));
    this.conn.exchangeDone(this, this.#reusable());
  }

  /** Answers a request refused before dispatch (e.g. CONNECT) and closes. */
  reject(status: number, reason: string): void {
    this.#requestEnded = true;
    this.respond(status, 'Refused', ['weft-error', reason, 'content-length', '0']);
    this.#ended = true;
    this.conn.exchangeDone(this, false);
  }

  /** Closes the connection at once (an upstream reset mid-response: the client sees no last chunk). */
  abort(): void {
    this.#aborted = true;
    this.conn.socket.destroy();
  }

  // --- called by the connection ---
  deliverBody(chunk: Buffer): void {
    this.#handler?.onBody(chunk);
  }
  deliverTrailers(fields: string[]): void {
    this.#trailers = fields;
  }
  deliverEnd(): void {
    this.#requestEnded = true;
    if (this.#trailers) this.#handler?.onTrailers(this.#trailers);
    this.#handler?.onEnd();
  }
  deliverAbort(): void {
    if (this.#ended || this.#aborted) return;
    this.#aborted = true;
    this.#handler?.onAbort();
  }
  drained(): void {
    if (this.#needDrain) {
      this.#needDrain = false;
      this.#handler?.onDrain();
    }
  }

  /** Keep-alive only when both sides agree and the request body was read to its end. */
  #reusable(): boolean {
    return this.head.keepAlive && this.#requestEnded && this.#delimited && !this.#closeAnnounced;
  }
}
