/**
 * The one place where failures become responses (linkerd2-proxy `ServerRescue`): a ProxyError maps
 * to its HTTP status, or to a trailers-only gRPC response, always with a `weft-error` reason header.
 */
import { Readable } from 'node:stream';
import type { Headers, Layer, ProxyRequest, ProxyResponse } from '../stack/types';
import { fact } from '../stack/meta';
import { GrpcStatus, InternalProxyError, ProxyError, toProxyError } from './errors';

/** Header naming why the proxy, not the app, produced a response: `weft-error: timeout route=a/b`. */
export const WEFT_ERROR_HEADER = 'weft-error';

/** Keeps header values to visible ASCII without spaces, so no detail can inject a header line. */
function token(v: string | number): string {
  return String(v).replace(/[^\x21-\x7e]/g, '_');
}

/** The `weft-error` value: the reason, then `route=…` and the error's own details. */
export function weftErrorValue(err: ProxyError, req?: ProxyRequest): string {
  const parts: string[] = [err.reason];
  const route = req ? fact(req, 'weft.routeName') : undefined;
  if (route !== undefined && err.details.route === undefined) parts.push(`route=${token(route)}`);
  for (const [k, v] of Object.entries(err.details)) if (v !== undefined && v !== '') parts.push(`${k}=${token(v)}`);
  return parts.join(' ');
}

/** Percent-encodes a grpc-message the way the gRPC spec asks (outside 0x20–0x7E, and '%'). */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A gRPC trailers-only response: HTTP 200 whose headers carry grpc-status (no body, no trailers). */
export function grpcTrailersOnly(grpcStatus: number, message: string, extra: Headers = {}): ProxyResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/grpc', 'grpc-status': String(grpcStatus), 'grpc-message': encodeGrpcMessage(message), ...extra },
    body: null,
  };
}

/** A small plain-text response the proxy made itself. */
export function syntheticResponse(status: number, text: string, extra: Headers = {}): ProxyResponse {
  const body = Buffer.from(text, 'utf8');
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), ...extra },
    body: body.length > 0 ? Readable.from([body]) : null,
  };
}

/** The response for a failure of `req`. Unknown errors are classified by `toProxyError` first. */
export function errorResponse(err: unknown, req?: ProxyRequest): ProxyResponse {
  const e = ProxyError.isProxyError(err) ? err : toProxyError(err);
  const headers: Headers = { [WEFT_ERROR_HEADER]: weftErrorValue(e, req) };
  if (e.status === 429) headers['retry-after'] = '1';
  if (req?.grpc) return grpcTrailersOnly(e.grpcStatus, e.message, headers);
  return syntheticResponse(e.status, `${e.message}\n`, headers);
}

/**
 * The rescue layer: every rejection below becomes a response here, so the servers above never see a
 * thrown error. Bugs (non-Error throws) become 500 `internal` rather than crashing a connection.
 */
export const rescue: Layer = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    const e = err instanceof Error ? err : new InternalProxyError(`non-error thrown: ${String(err)}`);
    return errorResponse(e, req);
  }
};

/** Reason token of a response the proxy produced, or undefined for an app response. */
export function responseReason(res: ProxyResponse): string | undefined {
  const v = res.headers[WEFT_ERROR_HEADER];
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s.split(' ')[0] : undefined;
}

export { GrpcStatus };
