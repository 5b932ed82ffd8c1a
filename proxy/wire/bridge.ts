/**
 * The engine's two data movers, without layers: an app's HTTP/1.1 exchange carried over a weft/1
 * stream (client sidecar), and a weft/1 stream served by the app over pooled HTTP/1.1 (server
 * sidecar). Bodies stream both ways with backpressure (write() false → pause the source, onDrain
 * → resume), trailers pass through, and a side that goes away resets or aborts the other.
 * Routing, authz, retries and metrics are not applied here (docs/proxy.md, "Lean engine").
 */
import { HOP_BY_HOP } from '../http/headers';
import { WireCode, type WireError } from './frames';
import { fieldOf, type H1Head } from './h1-head';
import type { H1ClientExchange, H1Pool, H1ResponseHandler } from './h1-client';
import type { H1BodyHandler, H1ServerExchange } from './h1-server';
import type { WeftSession } from './session';
import type { StreamHandler, WeftStream } from './stream';

/** Regular fields that may cross a hop: hop-by-hop ones and those named in `connection` are left out. */
export function endToEndFields(fields: readonly string[], out: string[] = []): string[] {
  const named = fieldOf(fields, 'connection');
  const listed = named === undefined ? undefined : new Set(named.toLowerCase().split(',').map((s) => s.trim()));
  for (let i = 0; i < fields.length; i += 2) {
    const n = fields[i];
    if (n.charCodeAt(0) === 58 || HOP_BY_HOP.has(n) || listed?.has(n)) continue;
    out.push(n, fields[i + 1]);
  }
  return out;
}

const REASON: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** Client sidecar: carries one app request (from the lean H1 server) over a new stream of `session`. */
export function forwardH1ToWeft(ex: H1ServerExchange, session: WeftSession): void {
  const h = ex.head;
  let authority = fieldOf(h.fields, 'host') ?? '';
  let path = h.target;
  const abs = path.charCodeAt(0) === 47 ? null : /^https?:\/\/([^/?#]*)(.*)$/i.exec(path);
  if (abs) {
    authority = abs[1];
    path = abs[2] === '' ? '/' : abs[2];
  }
  const head = endToEndFields(h.fields, [':method', h.method, ':scheme', 'http', ':authority', authority.toLowerCase(), ':path', path]);
  const down = new StreamToApp(ex);
  try {
    down.stream = session.openStream(head, ex.requestEnded, down);
  } catch (e) {
    ex.respond(502, 'Bad Gateway', ['weft-error', (e as WireError).code === 'WEFT_ERR_WIRE_BAD_HEADERS' ? 'bad_header' : 'upstream_reset', 'content-length', '0']);
    ex.end();
    return;
  }
  ex.attach(new AppToStream(ex, down.stream));
}

/** Client sidecar, request direction: the app's body into the stream. */
class AppToStream implements H1BodyHandler {
  #trailers: string[] | undefined;
  constructor(readonly ex: H1ServerExchange, readonly stream: WeftStream) {}
  onBody(chunk: Buffer): void {
    if (!this.stream.write(chunk)) this.ex.pause();
  }
  onTrailers(fields: string[]): void {
    this.#trailers = fields;
  }
  onEnd(): void {
    this.stream.end(this.#trailers && endToEndFields(this.#trailers));
  }
  /** The app's socket took the response bytes: read the stream again. */
  onDrain(): void {
    this.stream.resume();
  }
  onAbort(): void {
    this.stream.reset(WireCode.CANCEL);
  }
}

/** Client sidecar, response direction: the stream's response to the app. */
class StreamToApp implements StreamHandler {
  stream!: WeftStream;
  #trailers: string[] | undefined;
  constructor(readonly ex: H1ServerExchange) {}
  onHeaders(fields: string[]): void {
    const status = Number(fields[1]);
    this.ex.respond(status, REASON[status] ?? 'Status', endToEndFields(fields));
  }
  onData(chunk: Buffer): void {
    if (!this.ex.write(chunk)) this.stream.pause();
  }
  onTrailers(fields: string[]): void {
    this.#trailers = fields;
  }
  onEnd(): void {
    this.ex.end(this.#trailers && endToEndFields(this.#trailers));
  }
  /** The stream has credit again: read the app's request body again. */
  onDrain(): void {
    this.ex.resume();
  }
  onError(err: WireError): void {
    if (!this.ex.responseStarted) {
      this.ex.respond(502, 'Bad Gateway', ['weft-error', err.code === 'WEFT_ERR_WIRE_REFUSED' ? 'upstream_refused' : 'upstream_reset', 'content-length', '0']);
      this.ex.end();
    } else this.ex.abort();
  }
}

/** Server sidecar: serves one stream's request through the app's pool. */
export function serveWeftToH1(stream: WeftStream, pool: H1Pool): void {
  const f = stream.head as string[];
  const method = fieldOf(f, ':method') as string;
  const path = fieldOf(f, ':path') as string;
  const authority = fieldOf(f, ':authority') as string;
  const fields = endToEndFields(f, ['host', authority]);
  const up = new AppToPeer(stream);
  // no body at all when the stream already ended with its head
  const ex = pool.request(method, path, fields, stream.remoteEnded && stream.bufferedBytes === 0, up);
  up.ex = ex;
  stream.attach(new PeerToApp(stream, ex));
}

/** Server sidecar, request direction: the stream's body to the app. */
class PeerToApp implements StreamHandler {
  #trailers: string[] | undefined;
  constructor(readonly stream: WeftStream, readonly ex: H1ClientExchange) {}
  onHeaders(): void {}
  onData(chunk: Buffer): void {
    if (!this.ex.write(chunk)) this.stream.pause();
  }
  onTrailers(fields: string[]): void {
    this.#trailers = fields;
  }
  onEnd(): void {
    this.ex.end(this.#trailers && endToEndFields(this.#trailers));
  }
  /** The stream has credit for the response again: read the app's response again. */
  onDrain(): void {
    this.ex.resume();
  }
  /** The caller's sidecar reset the stream: the app connection is dropped (never pooled half read). */
  onError(): void {
    this.ex.abort();
  }
}

/** Server sidecar, response direction: the app's response into the stream. */
class AppToPeer implements H1ResponseHandler {
  ex!: H1ClientExchange;
  #trailers: string[] | undefined;
  constructor(readonly stream: WeftStream) {}
  onHead(head: H1Head): void {
    this.stream.respond([':status', String(head.status), ...endToEndFields(head.fields)]);
  }
  onBody(chunk: Buffer): void {
    if (!this.stream.write(chunk)) this.ex.pause();
  }
  onTrailers(fields: string[]): void {
    this.#trailers = fields;
  }
  onEnd(): void {
    this.stream.end(this.#trailers && endToEndFields(this.#trailers));
  }
  /** The app's socket took the request bytes: read the stream again. */
  onDrain(): void {
    this.stream.resume();
  }
  onError(err: { code: string }): void {
    if (this.stream.closed) return;
    if (!this.stream.headSent) {
      this.stream.respond([':status', '502', 'weft-error', err.code === 'WEFT_ERR_H1_CONNECT_FAILED' ? 'connect_failure' : 'upstream_reset'], true);
    } else this.stream.reset(WireCode.INTERNAL);
  }
}
