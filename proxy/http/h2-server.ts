/**
 * The HTTP/2 side of a proxy listener (h2c prior knowledge and h2 over TLS): bounded streams
 * and windows, header checks nghttp2 leaves to us (count, Host vs :authority, CR/LF/NUL), and
 * responses whose failed bodies become RST_STREAM rather than a clean END_STREAM.
 */
import * as http2 from 'node:http2';
import type { Handler, Headers, ProxyResponse } from '../stack/types';
import type { HttpLimits } from './limits';
import type { OverloadManager } from './overload';
import { checkRawHeaders, fromNodeHeaders, isGrpcContentType, normalizeAuthority } from './headers';
import { normalizePath } from './path';
import { BadRequestError, OverloadedError } from './wire-errors';
import { type ErrorResponder, type RequestParts, startExchange } from './exchange';
import { peerOf } from './peer';

const { NGHTTP2_FLAG_END_STREAM } = http2.constants;

/**
 * Resets a stream. `stream.close(code)` would first end the writable side (END_STREAM: a clean,
 * truncated end) and only then send RST_STREAM; destroy() sends RST_STREAM alone.
 */
export function resetStream(stream: http2.Http2Stream, why: string): void {
  if (!stream.destroyed) stream.destroy(new Error(why));
}

/** What the HTTP/2 server needs from its listener. */
export interface H2ServerDeps {
  readonly handler: Handler;
  readonly onError: ErrorResponder;
  readonly limits: HttpLimits;
  readonly overload?: OverloadManager;
}

function parseStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[], deps: H2ServerDeps): RequestParts {
  const drop = checkRawHeaders(raw, deps.limits);
  const method = String(headers[':method'] ?? '');
  if (method === 'CONNECT') throw new BadRequestError('WEFT_ERR_BAD_REQUEST', 'CONNECT is not supported', 400);
  const authority = headers[':authority'] ?? headers['host'];
  if (headers[':authority'] && headers['host'] && headers[':authority'] !== headers['host']) {
    throw new BadRequestError('WEFT_ERR_BAD_REQUEST', ':authority and host differ', 400);
  }
  if (!authority || !headers[':path']) throw new BadRequestError('WEFT_ERR_BAD_REQUEST', 'missing :authority or :path', 400);
  const reason = deps.overload?.reason();
  if (reason) throw new OverloadedError(reason);
  const peer = peerOf(stream.session!.socket);
  const scheme = peer.tls ? 'https' : 'http';
  const out = fromNodeHeaders(headers);
  if (drop.size > 0) for (const d of drop) delete out[d];
  const hasBody = (flags & NGHTTP2_FLAG_END_STREAM) === 0;
  return {
    method,
    authority: normalizeAuthority(String(authority), scheme),
    path: normalizePath(String(headers[':path']), deps.limits),
    scheme,
    headers: out,
    body: hasBody ? stream : null,
    trailers: hasBody ? requestTrailers(stream) : undefined,
    httpVersion: '2',
    peer,
    grpc: isGrpcContentType(headers['content-type']),
  };
}

/** The request trailers of an HTTP/2 stream: its trailing HEADERS, or undefined once it ends without. */
function requestTrailers(stream: http2.ServerHttp2Stream): Promise<Headers | undefined> {
  return new Promise((resolve) => {
    stream.once('trailers', (t: http2.IncomingHttpHeaders) => resolve(fromNodeHeaders(t)));
    stream.once('end', () => resolve(undefined));
    stream.once('close', () => resolve(undefined));
  });
}

/** Connection-specific response headers HTTP/2 forbids (RFC 9113 §8.2.2). */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/** Writes `resp` to an HTTP/2 stream; a failed body resets the stream. */
export function writeH2Response(stream: http2.ServerHttp2Stream, resp: ProxyResponse): void {
  if (stream.destroyed || stream.closed) {
    resp.body?.destroy();
    return;
  }
  const headers: http2.OutgoingHttpHeaders = { ':status': resp.status };
  const rh = resp.headers;
  for (const k in rh) {
    if (k.charCodeAt(0) === 58 /* ':' */ || H2_FORBIDDEN.has(k)) continue;
    headers[k] = rh[k];
  }
  const trailers = resp.trailers;
  try {
    stream.respond(headers, { waitForTrailers: trailers !== undefined, endStream: !resp.body && !trailers });
  } catch {
    resetStream(stream, 'respond failed');
    resp.body?.destroy();
    return;
  }
  if (trailers) {
    stream.once('wantTrailers', () => {
      void trailers.catch(() => undefined).then((t) => {
        if (stream.destroyed) return;
        const clean = Object.fromEntries(Object.entries(t ?? {}).filter(([k]) => !k.startsWith(':')));
        if (Object.keys(clean).length > 0) stream.sendTrailers(clean);
        else stream.close();
      });
    });
  }
  const body = resp.body;
  if (!body) {
    if (trailers) stream.end();
    return;
  }
  body.on('error', () => resetStream(stream, 'upstream body failed'));
  stream.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  // a small data/drain pump instead of pipe() (fewer listeners and closures per response)
  body.on('data', (chunk: Buffer) => {
    if (!stream.destroyed && !stream.write(chunk)) body.pause();
  });
  stream.on('drain', () => body.resume());
  body.on('end', () => {
    if (!stream.destroyed) stream.end();
  });
}

/** Creates the (never listening) HTTP/2 server the listener feeds h2 connections to. */
export function createH2Server(deps: H2ServerDeps): http2.Http2Server {
  const { limits } = deps;
  const server = http2.createServer({
    settings: {
      maxConcurrentStreams: limits.h2MaxConcurrentStreams,
      initialWindowSize: limits.h2StreamWindowBytes,
      maxHeaderListSize: limits.maxRequestHeadersBytes,
    },
    maxHeaderListPairs: limits.maxHeadersCount + 8,
    maxSessionMemory: 10,
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    session.on('localSettings', () => undefined);
    try {
      session.setLocalWindowSize(limits.h2ConnectionWindowBytes);
    } catch {
      /* session may already be closing */
    }
    session.setTimeout(limits.idleTimeoutMs, () => session.close());
    session.on('error', () => session.destroy());
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) => {
    stream.on('error', () => undefined);
    stream.setTimeout(limits.streamIdleTimeoutMs, () => resetStream(stream, 'stream idle timeout'));
    let parts: RequestParts;
    try {
      parts = parseStream(stream, headers, flags, raw, deps);
    } catch (err) {
      if (err instanceof OverloadedError) stream.session?.goaway();
      writeH2Response(stream, deps.onError(err, undefined));
      return;
    }
    const ex = startExchange(parts);
    stream.on('close', () => {
      if (stream.rstCode !== undefined && stream.rstCode !== 0) ex.abort.abort(new Error(`downstream reset ${stream.rstCode}`));
      else if (!stream.writableFinished) ex.abort.abort(new Error('downstream closed'));
      ex.done();
    });
    void ex.run(deps.handler, deps.onError).then((resp) => writeH2Response(stream, resp));
  });
  return server;
}
