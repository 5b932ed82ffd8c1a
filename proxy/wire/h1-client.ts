/**
 * A lean HTTP/1.1 client on raw sockets for the engine's app leg (sidecar → app), with a
 * keep-alive pool. A connection returns to the pool only when both messages ended cleanly, and
 * always resumed: a socket paused for a slow reader that left is destroyed, never reused paused.
 */
import * as net from 'node:net';
import { WeftError } from '../../api/errors';
import { fieldOf, type H1Head } from './h1-head';
import { H1Parser, type H1Sink } from './h1-parse';
import { lastChunk, requestHead, writeBodyChunk } from './h1-write';

/** What a request's user receives. */
export interface H1ResponseHandler {
  onHead(head: H1Head): void;
  onBody(chunk: Buffer): void;
  onTrailers(fields: string[]): void;
  onEnd(): void;
  /** `write()` may continue after it returned false. */
  onDrain(): void;
  /** The exchange failed: WEFT_ERR_H1_* for a bad response, WEFT_ERR_H1_CONNECT_FAILED when the app could not be reached (retryable), WEFT_ERR_H1_CONNECTION when it closed mid-exchange. */
  onError(err: WeftError): void;
}

/** One request/response on a pooled connection. */
export class H1ClientExchange implements H1Sink {
  #chunked = false;
  #requestEnded = false;
  #responseEnded = false;
  #failed = false;
  #needDrain = false;
  #trailers: string[] | undefined;

  constructor(readonly conn: H1ClientConn, readonly handler: H1ResponseHandler, method: string, target: string, fields: readonly string[], endNow: boolean) {
    const out = fields.slice();
    if (!endNow && fieldOf(fields, 'content-length') === undefined) {
      this.#chunked = true;
      out.push('transfer-encoding', 'chunked');
    }
    conn.parser.expect(method);
    conn.socket.write(requestHead(method, target, out));
    if (endNow) this.#requestEnded = true;
  }

  /** Request body bytes; false means wait for onDrain. */
  write(chunk: Buffer): boolean {
    if (this.#requestEnded || this.#failed || chunk.length === 0) return !this.#failed;
    const ok = writeBodyChunk(this.conn.socket, chunk, this.#chunked);
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** Ends the request body (trailers only when chunked). */
  end(trailers?: readonly string[]): void {
    if (this.#requestEnded || this.#failed) return;
    this.#requestEnded = true;
    if (this.#chunked) this.conn.socket.write(lastChunk(trailers));
    this.#maybeDone();
  }

  /** Response backpressure: stops reading the socket. */
  pause(): void {
    this.conn.parser.pause();
    this.conn.socket.pause();
  }
  resume(): void {
    this.conn.socket.resume();
    this.conn.parser.resume();
  }

  /** The caller went away: the connection cannot be reused (a response may be half read). */
  abort(): void {
    if (this.#failed) return;
    this.#failed = true;
    this.conn.destroy();
  }

  // --- H1Sink (the connection's parser) ---
  onHead(head: H1Head): void {
    if (head.status < 200) return; // interim responses are not forwarded (100-continue is answered downstream)
    if (!head.keepAlive) this.conn.reusable = false;
    this.handler.onHead(head);
  }
  onBody(chunk: Buffer): void {
    this.handler.onBody(chunk);
  }
  onTrailers(fields: string[]): void {
    this.#trailers = fields;
  }
  onEnd(): void {
    this.#responseEnded = true;
    if (this.#trailers) this.handler.onTrailers(this.#trailers);
    this.handler.onEnd();
    this.#maybeDone();
  }

  // --- called by the connection ---
  drained(): void {
    if (this.#needDrain) {
      this.#needDrain = false;
      this.handler.onDrain();
    }
  }
  fail(err: WeftError): void {
    if (this.#failed || this.#responseEnded) return;
    this.#failed = true;
    this.handler.onError(err);
  }

  #maybeDone(): void {
    if (this.#requestEnded && this.#responseEnded && !this.#failed) this.conn.exchangeDone(this);
  }
}

/** One keep-alive connection to an app. */
export class H1ClientConn implements H1Sink {
  readonly parser: H1Parser;
  current: H1ClientExchange | undefined;
  reusable = true;
  #closed = false;
  #connected = false;

  constructor(readonly socket: net.Socket, readonly pool: H1Pool) {
    this.parser = new H1Parser(this, { request: false });
    socket.setNoDelay(true);
    socket.once('connect', () => (this.#connected = true));
    socket.on('data', (c: Buffer) => {
      try {
        this.parser.push(c);
      } catch (e) {
        this.current?.fail(e as WeftError);
        this.destroy();
      }
    });
    socket.on('drain', () => this.current?.drained());
    socket.on('end', () => {
      try {
        this.parser.finish();
      } catch (e) {
        this.current?.fail(e as WeftError);
      }
      this.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.current?.fail(this.#connected
        ? new WeftError('WEFT_ERR_H1_CONNECTION', 'the app connection closed before the response ended')
        // nothing reached the app: safe to retry
        : new WeftError('WEFT_ERR_H1_CONNECT_FAILED', `cannot connect to ${this.pool.opts.host}:${this.pool.opts.port}`));
      this.pool.forget(this);
    });
  }

  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  onHead(head: H1Head): void {
    this.current?.onHead(head);
  }
  onBody(chunk: Buffer): void {
    this.current?.onBody(chunk);
  }
  onTrailers(fields: string[]): void {
    this.current?.onTrailers(fields);
  }
  onEnd(): void {
    this.current?.onEnd();
  }

  exchangeDone(ex: H1ClientExchange): void {
    if (this.current !== ex) return;
    this.current = undefined;
    // back to the pool only clean and flowing: never paused, nothing buffered
    this.socket.resume();
    this.parser.resume();
    if (!this.reusable || !this.parser.idle || this.closed) this.destroy();
    else this.pool.release(this);
  }

  destroy(): void {
    this.#closed = true;
    this.socket.destroy();
    this.pool.forget(this);
  }
}

/** Options of a pool to one app address. */
export interface H1PoolOptions {
  readonly host: string;
  readonly port: number;
  /** Idle connections kept. @default 64 */
  readonly maxIdle?: number;
}

/** Keep-alive connections to one address, most recently used first (LIFO, as Node's Agent). */
export class H1Pool {
  readonly #idle: H1ClientConn[] = [];
  readonly #all = new Set<H1ClientConn>();
  /** Connections dialed so far (for tests and metrics). */
  dialed = 0;

  constructor(readonly opts: H1PoolOptions) {}

  /** Open connections (idle and busy). */
  get size(): number {
    return this.#all.size;
  }

  /** Sends a request on an idle connection or a new one. `endNow`: no body follows. */
  request(method: string, target: string, fields: readonly string[], endNow: boolean, handler: H1ResponseHandler): H1ClientExchange {
    let conn: H1ClientConn | undefined;
    while ((conn = this.#idle.pop()) !== undefined && conn.closed);
    if (!conn) {
      const socket = net.connect(this.opts.port, this.opts.host);
      this.dialed++;
      conn = new H1ClientConn(socket, this);
      this.#all.add(conn);
    }
    const ex = new H1ClientExchange(conn, handler, method, target, fields, endNow);
    conn.current = ex;
    return ex;
  }

  release(conn: H1ClientConn): void {
    if (this.#idle.length >= (this.opts.maxIdle ?? 64)) conn.destroy();
    else this.#idle.push(conn);
  }

  forget(conn: H1ClientConn): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Closes every connection. */
  close(): void {
    for (const c of [...this.#all]) c.destroy();
  }
}
