/**
 * HTTP/2 endpoint client: one multiplexed session per endpoint (h2c or h2 over mTLS), re-dialed
 * after GOAWAY or close. Trailers (gRPC status) are passed up; a peer RST_STREAM mid-body errors
 * the body so the downstream stream is reset too.
 */
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import type { Handler, Headers, ProxyRequest, ProxyResponse } from '../stack/types';
import { forwardableTrailers, fromNodeHeaders, hasBadValue } from './headers';
import { BadRequestError } from './wire-errors';
import { ConnectFailureError, UpstreamResetError } from './errors';
import { spiffeCheck } from '../transport/tls';
import { resetStream } from './h2-server';

const { NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Where and how to reach one endpoint over HTTP/2. */
export interface H2EndpointOptions {
  readonly address: string;
  readonly port: number;
  /** mTLS to another sidecar (ALPN h2). @default - h2c prior knowledge */
  readonly tls?: { readonly context: () => tls.SecureContext | undefined; readonly expectedIdentity?: string };
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Receive window per stream. @default 1048576 */
  readonly streamWindowBytes?: number;
  /** Receive window per connection. @default 8388608 */
  readonly connectionWindowBytes?: number;
}

/** A multiplexed HTTP/2 client for one endpoint. */
export class H2Endpoint {
  readonly #opts: H2EndpointOptions;
  readonly #name: string;
  #session: http2.ClientHttp2Session | undefined;
  #ready: Promise<http2.ClientHttp2Session> | undefined;
  /** The session once its 'connect' fired (until it is forgotten). */
  #live: http2.ClientHttp2Session | undefined;

  constructor(opts: H2EndpointOptions) {
    this.#opts = opts;
    this.#name = `${opts.address}:${opts.port}`;
  }

  #connect(): Promise<http2.ClientHttp2Session> {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed && this.#ready) return this.#ready;
    const { address, port, tls: t } = this.#opts;
    const ctx = t?.context();
    if (t && !ctx) return Promise.reject(new ConnectFailureError(this.#name, { cause: new Error('no client certificate yet') }));
    const host = address.includes(':') ? `[${address}]` : address;
    const session = http2.connect(`${t ? 'https' : 'http'}://${host}:${port}`, {
      settings: { initialWindowSize: this.#opts.streamWindowBytes ?? 1024 * 1024, enablePush: false },
      ...(t ? {
        createConnection: () => tls.connect({
          host: address, port, secureContext: ctx, ALPNProtocols: ['h2'], rejectUnauthorized: true,
          checkServerIdentity: spiffeCheck(t.expectedIdentity),
        }),
      } : {}),
    });
    this.#session = session;
    const ready = new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const timer = setTimeout(() => session.destroy(new ConnectFailureError(this.#name, { cause: new Error('connect timeout') })), this.#opts.connectTimeoutMs ?? 5000);
      session.once('connect', () => {
        clearTimeout(timer);
        try {
          session.setLocalWindowSize(this.#opts.connectionWindowBytes ?? 8 * 1024 * 1024);
        } catch {
          /* closing */
        }
        if (this.#session === session) this.#live = session;
        resolve(session);
      });
      session.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.code?.startsWith('WEFT_ERR_') ? err : new ConnectFailureError(this.#name, { cause: err }));
      });
      session.once('close', () => clearTimeout(timer));
    });
    ready.catch(() => undefined);
    session.on('error', () => undefined);
    const forget = (): void => {
      if (this.#session === session) {
        this.#session = undefined;
        this.#ready = undefined;
        this.#live = undefined;
      }
    };
    session.on('goaway', forget);
    session.on('close', forget);
    // idle sessions must not keep the process (or a drain) alive
    session.unref();
    this.#ready = ready;
    return ready;
  }

  /** The Handler sending a request to this endpoint. */
  readonly handler: Handler = (req) => {
    // fast path: a connected session is used without a promise hop through #connect()
    const s = this.#live;
    if (s && s === this.#session && !s.closed && !s.destroyed) return this.#send(s, req);
    return this.#connect().then((session) => this.#send(session, req));
  };

  #send(session: http2.ClientHttp2Session, req: ProxyRequest): Promise<ProxyResponse> {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': req.scheme,
    };
    const rh = req.headers;
    for (const k in rh) {
      if (k === 'te') continue;
      const v = rh[k];
      if (hasBadValue(v)) return Promise.reject(new BadRequestError('WEFT_ERR_BAD_HEADER', `header ${k} holds CR, LF or NUL`, 400));
      headers[k] = v;
    }
    if (req.grpc) headers['te'] = 'trailers';
    let stream: http2.ClientHttp2Stream;
    try {
      // request trailers (gRPC clients, chunked HTTP/1.1) are sent once the body has ended
      stream = session.request(headers, { endStream: req.body === null, waitForTrailers: req.body !== null && req.trailers !== undefined });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_HTTP2_INVALID_CONNECTION_HEADERS' || err.code === 'ERR_INVALID_CHAR' || err.code === 'ERR_HTTP2_INVALID_HEADER_VALUE') {
        return Promise.reject(new BadRequestError('WEFT_ERR_BAD_HEADER', err.message, 400));
      }
      return Promise.reject(new ConnectFailureError(this.#name, { cause: err }));
    }
    const onAbort = (): void => {
      resetStream(stream, 'downstream aborted');
    };
    if (req.signal.aborted) onAbort();
    else req.signal.addEventListener('abort', onAbort, { once: true });
    if (req.body) {
      const trailers = req.trailers;
      if (trailers) {
        stream.once('wantTrailers', () => {
          void trailers.catch(() => undefined).then((t) => {
            if (stream.destroyed) return;
            // an empty set ends the stream with an empty DATA frame (Node's sendTrailers({}))
            stream.sendTrailers((forwardableTrailers(t) ?? {}) as http2.OutgoingHttpHeaders);
          });
        });
      }
      req.body.on('error', () => resetStream(stream, 'downstream body failed'));
      req.body.pipe(stream);
    }
    return new Promise<ProxyResponse>((resolve, reject) => {
      let started = false;
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (!started) reject(new UpstreamResetError(this.#name, { cause: err }));
      });
      // one 'close' listener for both jobs (each listener and closure is per request)
      stream.on('close', () => {
        req.signal.removeEventListener('abort', onAbort);
        if (!started) reject(new UpstreamResetError(this.#name));
        else if (stream.rstCode !== undefined && stream.rstCode !== 0 && !stream.readableEnded) {
          stream.destroy(new UpstreamResetError(this.#name));
        }
      });
      stream.on('response', (h: http2.IncomingHttpHeaders, flags: number) => {
        started = true;
        const ended = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
        const status = Number(h[':status'] ?? 502);
        const out = fromNodeHeaders(h);
        const wantTrailers = !ended && out['grpc-status'] === undefined && (req.grpc || h['trailer'] !== undefined);
        const trailers = wantTrailers
          ? new Promise<Headers | undefined>((r) => {
            stream.once('trailers', (t: http2.IncomingHttpHeaders) => r(fromNodeHeaders(t)));
            stream.once('close', () => r(undefined));
          })
          : undefined;
        if (ended) stream.resume();
        resolve({ status, headers: out, body: ended ? null : stream, trailers });
      });
    });
  }

  /** Closes the session. */
  close(): void {
    this.#session?.close();
  }
}
