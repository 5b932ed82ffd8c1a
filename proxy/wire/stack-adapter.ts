/**
 * `weft/1` under the current layer stacks: `WeftEndpoint` is an endpoint client (`Handler`) that
 * carries a ProxyRequest over a stream of one pooled session per endpoint, falling back to a given
 * handler (HTTP/2) when the peer's ALPN did not select `weft/1`; `serveWeftStream` turns a server
 * stream into a ProxyRequest for a stack handler. Node streams stay at this boundary only.
 */
import type * as tls from 'node:tls';
import { Readable } from 'node:stream';
import { CancelledError, ConnectFailureError, ProxyError, UpstreamResetError } from '../http/errors';
import { checkRawHeaders, HOP_BY_HOP, isGrpcContentType } from '../http/headers';
import { DEFAULT_LIMITS, type HttpLimits } from '../http/limits';
import { normalizePath } from '../http/path';
import type { Handler, Headers, Peer, ProxyRequest, ProxyResponse } from '../stack/types';
import { spiffeCheck } from '../transport/tls';
import { dialSidecar } from './connect';
import { WireCode, WireError } from './frames';
import type { WeftSession } from './session';
import type { StreamHandler, WeftStream } from './stream';

/** Headers map → `[name, value, …]` without hop-by-hop fields. */
export function toFields(h: Headers, out: string[]): string[] {
  for (const name in h) {
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58) continue;
    const v = h[name];
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}

/** `[name, value, …]` (pseudo-fields skipped) → Headers map; repeated names become arrays. */
export function toHeaders(fields: readonly string[]): Headers {
  const h: Headers = {};
  for (let i = 0; i < fields.length; i += 2) {
    const n = fields[i];
    if (n.charCodeAt(0) === 58) continue;
    const prev = h[n];
    h[n] = prev === undefined ? fields[i + 1] : Array.isArray(prev) ? [...prev, fields[i + 1]] : [prev, fields[i + 1]];
  }
  return h;
}

/** A Readable fed by a stream; reading pulls credit (`resume`), a full buffer pauses the stream. */
class StreamBody extends Readable {
  constructor(readonly stream: WeftStream) {
    super();
  }
  override _read(): void {
    this.stream.resume();
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // a reader that stops before the end abandons the stream; one that read it all does not
    if (!this.stream.closed && !this.stream.remoteEnded) this.stream.reset(WireCode.CANCEL);
    cb(err);
  }
  feed(chunk: Buffer): void {
    if (!this.push(chunk)) this.stream.pause();
  }
}

/** Receives one stream for a ProxyRequest/ProxyResponse pair (client: the response; server: the request). */
class Exchange implements StreamHandler {
  stream!: WeftStream;
  body: StreamBody | undefined;
  #trailersResolve!: (t: Headers | undefined) => void;
  readonly trailers = new Promise<Headers | undefined>((r) => (this.#trailersResolve = r));
  #headResolve: ((fields: string[]) => void) | undefined;
  #headReject: ((e: unknown) => void) | undefined;
  readonly head: Promise<string[]> | undefined;
  /** The Node body being sent on this stream (paused on backpressure). */
  source: Readable | null = null;
  /** Server side: aborts the request's signal when the stream fails. */
  abort: AbortController | undefined;

  constructor(awaitHead: boolean) {
    if (awaitHead) this.head = new Promise((resolve, reject) => {
      this.#headResolve = resolve;
      this.#headReject = reject;
    });
  }
  bodyFor(stream: WeftStream): StreamBody {
    this.body = new StreamBody(stream);
    return this.body;
  }
  onHeaders(fields: string[]): void {
    this.#headSeen = true;
    this.#headResolve?.(fields);
  }
  #headSeen = false;
  onData(chunk: Buffer): void {
    this.body?.feed(chunk);
  }
  onTrailers(fields: string[]): void {
    this.#trailersResolve(toHeaders(fields));
  }
  onEnd(): void {
    this.#trailersResolve(undefined);
    this.body?.push(null);
  }
  onDrain(): void {
    this.source?.resume();
  }
  onError(err: WireError): void {
    this.abort?.abort(err);
    this.#headReject?.(err);
    this.#trailersResolve(undefined);
    // before the head nobody holds the body yet: the head promise carries the error instead
    if (this.head !== undefined && !this.#headSeen) this.body?.destroy();
    else this.body?.destroy(err);
    this.source?.destroy();
  }
}

/** Sends `body` (then its trailers) on `stream` with backpressure. */
function sendBody(stream: WeftStream, ex: Exchange, body: Readable | null, trailers: Promise<Headers | undefined> | undefined): void {
  if (!body) return;
  ex.source = body;
  body.on('data', (c: Buffer) => {
    if (!stream.write(c)) body.pause();
  });
  body.once('end', () => {
    void (trailers ?? Promise.resolve(undefined)).then((t) => stream.end(t ? toFields(t, []) : undefined));
  });
  body.once('error', () => stream.reset(WireCode.CANCEL));
}

/** Options of a WeftEndpoint. */
export interface WeftEndpointOptions {
  readonly address: string;
  readonly port: number;
  /** mTLS client context and the peer's expected SPIFFE ID. */
  readonly tls: { readonly context: () => tls.SecureContext | undefined; readonly expectedIdentity?: string };
  /** Used for every request when the peer does not speak weft/1 (its ALPN chose h2). */
  readonly fallback: Handler;
}

/** An endpoint client over weft/1: one session per endpoint, re-dialed after GOAWAY or close. */
export class WeftEndpoint {
  readonly #opts: WeftEndpointOptions;
  #session: Promise<WeftSession | undefined> | undefined;
  /** True once the peer's ALPN chose another protocol: the fallback serves from then on. */
  peerLacksWeft = false;

  constructor(opts: WeftEndpointOptions) {
    this.#opts = opts;
  }

  readonly handler: Handler = async (req) => {
    if (this.peerLacksWeft) return this.#opts.fallback(req);
    const session = await this.#connect();
    if (!session) return this.#opts.fallback(req);
    const head = toFields(req.headers, [':method', req.method, ':scheme', req.scheme, ':authority', req.authority, ':path', req.path]);
    const ex = new Exchange(true);
    let stream: WeftStream;
    try {
      stream = session.openStream(head, req.body === null, ex);
    } catch (e) {
      throw new ConnectFailureError(`${this.#opts.address}:${this.#opts.port}`, { cause: e });
    }
    ex.stream = stream;
    // the body exists before the head resolves: DATA may follow the head within one read
    const resBody = ex.bodyFor(stream);
    const onAbort = (): void => {
      // a local reset tells no handler: fail this exchange here
      stream.reset(WireCode.CANCEL);
      ex.onError(new WireError('WEFT_ERR_WIRE_RESET', 'cancelled by the caller', WireCode.CANCEL));
    };
    req.signal.addEventListener('abort', onAbort, { once: true });
    sendBody(stream, ex, req.body, req.trailers);
    let fields: string[];
    try {
      fields = await (ex.head as Promise<string[]>);
    } catch (e) {
      req.signal.removeEventListener('abort', onAbort);
      if (req.signal.aborted) throw new CancelledError();
      const code = (e as WireError).code;
      // REFUSED: the peer never processed it (safe to retry elsewhere, like a connect failure)
      if (code === 'WEFT_ERR_WIRE_REFUSED') throw new ConnectFailureError(`${this.#opts.address}:${this.#opts.port}`, { cause: e });
      throw ProxyError.isProxyError(e) ? e : new UpstreamResetError(`${this.#opts.address}:${this.#opts.port}`, { cause: e });
    }
    const empty = stream.remoteEnded && resBody.readableLength === 0;
    if (empty) resBody.destroy();
    const body = empty ? null : resBody;
    void ex.trailers.then(() => req.signal.removeEventListener('abort', onAbort));
    return { status: Number(fields[1]), headers: toHeaders(fields), body, trailers: ex.trailers };
  };

  #connect(): Promise<WeftSession | undefined> {
    const current = this.#session;
    if (current) {
      return current.then((s) => {
        if (s && s.canOpen) return s;
        if (this.#session === current) this.#session = undefined;
        return s === undefined ? undefined : this.#connect();
      });
    }
    const { address, port, tls: t } = this.#opts;
    const dialing = dialSidecar({ host: address, port, secureContext: t.context(), rejectUnauthorized: true, checkServerIdentity: spiffeCheck(t.expectedIdentity) })
      .then((d) => {
        if (d.protocol !== 'weft/1') {
          d.socket.destroy();
          this.peerLacksWeft = true;
          return undefined;
        }
        d.session.whenClosed().then(() => {
          if (this.#session === dialing) this.#session = undefined;
        }, () => undefined);
        return d.session;
      }, (e: unknown) => {
        if (this.#session === dialing) this.#session = undefined;
        throw new ConnectFailureError(`${address}:${port}`, { cause: e });
      });
    this.#session = dialing;
    return dialing;
  }

  /** Drains the session (GOAWAY) and forgets it. */
  close(): void {
    void this.#session?.then((s) => s?.close(), () => undefined);
    this.#session = undefined;
  }
}

/**
 * Server side: serves one `weft/1` stream with a stack handler (the inbound stack). Errors the
 * handler throws should already be responses (its `rescue` layer); anything else is a 502.
 */
export function serveWeftStream(stream: WeftStream, handler: Handler, peer: Peer, limits: HttpLimits = DEFAULT_LIMITS): void {
  const f = stream.head as string[];
  const pseudo = (name: string): string | undefined => {
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
    return undefined;
  };
  // The same request-path rules as the HTTP/1.1 and HTTP/2 servers (proxy/http/path.ts, headers.ts):
  // the handler (routing, authz) and the app see one normalized path, never a raw `\` or dot segment.
  const method = pseudo(':method');
  const rawPath = pseudo(':path');
  let path: string;
  let dropped: ReadonlySet<string>;
  try {
    if (!method || !rawPath || pseudo(':authority') === undefined) {
      throw Object.assign(new Error('a request needs :method, :path and :authority'), { status: 400, reason: 'bad_request' });
    }
    path = normalizePath(rawPath, limits);
    dropped = checkRawHeaders(f.filter((_v, i) => !f[i - (i % 2)].startsWith(':')), limits);
  } catch (e) {
    const err = e as { status?: number; reason?: string };
    // read and discard a body the client still sends, so its credit flows back to the connection
    const drain = new Exchange(false);
    drain.stream = stream;
    if (!stream.remoteEnded) drain.bodyFor(stream).resume();
    stream.attach(drain);
    stream.respond([':status', String(err.status ?? 400), 'weft-error', err.reason ?? 'bad_request'], true);
    return;
  }
  const ex = new Exchange(false);
  ex.stream = stream;
  const body = stream.remoteEnded ? null : ex.bodyFor(stream);
  const abort = new AbortController();
  const headers = toHeaders(f);
  for (const d of dropped) delete headers[d];
  const req: ProxyRequest = {
    method,
    authority: pseudo(':authority')!,
    path,
    scheme: 'https',
    headers,
    body,
    trailers: body ? ex.trailers : undefined,
    grpc: isGrpcContentType(headers['content-type']),
    httpVersion: '2',
    peer,
    signal: abort.signal,
    meta: new Map(),
  };
  ex.abort = abort;
  stream.attach(ex);
  void handler(req).then((res: ProxyResponse) => {
    if (stream.closed) {
      res.body?.destroy();
      return;
    }
    stream.respond([':status', String(res.status), ...toFields(res.headers, [])], res.body === null && res.trailers === undefined);
    if (res.body === null) {
      if (res.trailers) void res.trailers.then((t) => stream.end(t ? toFields(t, []) : undefined));
      return;
    }
    sendBody(stream, ex, res.body, res.trailers);
  }, () => {
    if (!stream.closed && !stream.headSent) stream.respond([':status', '502', 'weft-error', 'internal'], true);
    else stream.reset(WireCode.INTERNAL);
  });
}
