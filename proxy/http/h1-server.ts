/**
 * The HTTP/1.1 side of a proxy listener: Node's http parser (strict llhttp: CL+TE, bad
 * Content-Length and obfuscated TE are already 400) plus the checks Node lacks: header count,
 * duplicate Host, path normalization, overload shedding; WebSocket/Upgrade is passed through.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Handler, Headers, ProxyResponse } from '../stack/types';
import type { HttpLimits } from './limits';
import type { OverloadManager } from './overload';
import { checkRawHeaders, fromNodeHeaders, isGrpcContentType, normalizeAuthority } from './headers';
import { normalizePath } from './path';
import { BadRequestError, OverloadedError } from './wire-errors';
import { type ErrorResponder, type RequestParts, startExchange } from './exchange';
import { writeH1Response, writeRawResponse } from './h1-write';
import { peerOf } from './peer';

/** What the HTTP/1.1 server needs from its listener. */
export interface H1ServerDeps {
  readonly handler: Handler;
  readonly onError: ErrorResponder;
  readonly limits: HttpLimits;
  readonly overload?: OverloadManager;
  /** True once the listener drains: responses then carry `connection: close`. */
  readonly draining: () => boolean;
  /** Authority for requests without Host (HTTP/1.0). @default - 400 */
  readonly defaultAuthority?: string;
}

/** Status line and `weft-error` reason (registered in api/error-codes.ts) of a refused request head. */
const CLIENT_ERROR_STATUS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'headers_too_large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request_timeout'],
};

/**
 * RFC 9112 §6.3: a request whose final coding is not chunked (or HTTP/1.0 with any) has no reliable
 * framing → 400; Node would dispatch it before failing on the body, so it is refused here. Any other
 * coding before chunked (`gzip, chunked`, also as two headers) is one the proxy does not implement
 * → 501 as Envoy answers (RFC 9112 §6.1), rather than forwarding the body with the coding dropped.
 */
function checkTransferEncoding(te: string, httpVersion: string): void {
  if (httpVersion === '1.0' || !/(^|,)\s*chunked\s*$/i.test(te) || /chunked\s*,/i.test(te)) {
    throw new BadRequestError('WEFT_ERR_BAD_REQUEST', `unsupported transfer-encoding ${JSON.stringify(te)}`, 400);
  }
  if (!/^\s*chunked\s*$/i.test(te)) {
    throw new BadRequestError('WEFT_ERR_UNSUPPORTED_TRANSFER_CODING', `transfer coding ${JSON.stringify(te)} is not implemented; send the body with chunked alone`, 501);
  }
}

/** Parses the request head into RequestParts, or throws a BadRequestError / OverloadedError. */
function parseHead(req: http.IncomingMessage, deps: H1ServerDeps, upgrade: boolean): RequestParts {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') hosts++;
  }
  const drop = checkRawHeaders(raw, deps.limits);
  if (hosts > 1) throw new BadRequestError('WEFT_ERR_BAD_REQUEST', 'duplicate Host header', 400);
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) checkTransferEncoding(te, req.httpVersion);
  const reason = deps.overload?.reason();
  if (reason) throw new OverloadedError(reason);
  const peer = peerOf(req.socket);
  const scheme = peer.tls ? 'https' : 'http';
  let target = req.url ?? '/';
  let authority = req.headers.host;
  // origin-form (`/…`) is the common case: only other targets can be absolute-form
  const abs = target.charCodeAt(0) === 47 /* '/' */ ? null : /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
  if (abs) {
    // absolute-form (explicit HTTP proxy): the URI's authority wins over Host (RFC 9112 §3.2.2)
    authority = abs[2];
    target = abs[3] === '' ? '/' : abs[3];
  }
  authority = authority ?? deps.defaultAuthority;
  if (!authority) throw new BadRequestError('WEFT_ERR_BAD_REQUEST', 'missing Host header', 400);
  const headers = fromNodeHeaders(req.headers, upgrade);
  if (drop.size > 0) for (const d of drop) delete headers[d];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const hasBody = upgrade || chunked || (req.headers['content-length'] ?? '0') !== '0';
  return {
    method: req.method ?? 'GET',
    authority: normalizeAuthority(authority, scheme),
    path: normalizePath(target, deps.limits),
    scheme,
    headers,
    body: hasBody ? req : null,
    // only a chunked body can end with a trailer section (RFC 9112 §7.1.2)
    trailers: chunked && !upgrade ? requestTrailers(req) : undefined,
    httpVersion: '1.1',
    peer,
    grpc: isGrpcContentType(req.headers['content-type']),
  };
}

/** The trailer section of a chunked request (Node fills `req.trailers` before 'end'), or undefined. */
function requestTrailers(req: http.IncomingMessage): Promise<Headers | undefined> {
  return new Promise((resolve) => {
    req.once('end', () => {
      const t = fromNodeHeaders(req.trailers);
      resolve(Object.keys(t).length > 0 ? t : undefined);
    });
    req.once('close', () => resolve(undefined));
  });
}

/** Creates the (never listening) http.Server that the listener feeds connections to. */
export function createH1Server(deps: H1ServerDeps): http.Server {
  const { limits } = deps;
  const server = http.createServer({
    maxHeaderSize: limits.maxRequestHeadersBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    requireHostHeader: true,
    joinDuplicateHeaders: false,
  });
  // one more than the limit, so an over-limit request is seen (and refused) rather than truncated
  server.maxHeadersCount = limits.maxHeadersCount + 2;
  server.timeout = limits.streamIdleTimeoutMs;
  // Node starts its headers-timeout checker on 'listening'; this server is fed sockets instead.
  server.emit('listening');

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, text, reason] = CLIENT_ERROR_STATUS[err.code ?? ''] ?? [400, 'Bad Request', 'bad_request'];
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\nweft-error: ${reason}\r\ncontent-length: 0\r\n\r\n`);
  });

  // CONNECT tunnels would carry bytes the mesh cannot route, authorize or encrypt: refused (documented)
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\nweft-error: connect_unsupported\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });

  // Connections whose framing we refused: Node may already have parsed the bytes after the bad
  // request as a pipelined one (e.g. the body of `gzip, chunked`), which must never be served.
  const refused = new WeakSet<object>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (refused.has(req.socket)) {
      req.socket.destroy();
      return;
    }
    let parts: RequestParts;
    try {
      parts = parseHead(req, deps, false);
    } catch (err) {
      refused.add(req.socket);
      const resp = deps.onError(err, undefined);
      req.resume();
      void writeH1Response(res, resp, true);
      return;
    }
    const ex = startExchange(parts);
    res.on('close', () => {
      if (!res.writableFinished) ex.abort.abort(new Error('downstream closed'));
      ex.done();
    });
    void ex.run(deps.handler, deps.onError).then((resp) => writeH1Response(res, resp, deps.draining()));
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    let parts: RequestParts;
    try {
      parts = parseHead(req, deps, true);
    } catch (err) {
      writeRawResponse(socket, deps.onError(err, undefined));
      return;
    }
    if (/(^|,)\s*h2c\s*($|,)/i.test(String(req.headers['upgrade']))) {
      // h2c upgrade (deprecated by RFC 9113) is ignored: served as HTTP/1.1, then the connection closes
      const { upgrade: _u, connection: _c, ...rest } = parts.headers;
      void _u;
      void _c;
      const ex = startExchange({ ...parts, headers: rest, body: null });
      void ex.run(deps.handler, deps.onError).then((resp: ProxyResponse) => writeRawResponse(socket, resp));
      return;
    }
    if (head.length > 0) socket.unshift(head);
    const ex = startExchange({ ...parts, body: socket });
    socket.on('close', () => {
      ex.abort.abort(new Error('downstream closed'));
      ex.done();
    });
    socket.on('error', () => socket.destroy());
    void ex.run(deps.handler, deps.onError).then((resp: ProxyResponse) => writeRawResponse(socket, resp));
  });
  return server;
}
