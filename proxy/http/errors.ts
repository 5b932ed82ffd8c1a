/**
 * Typed failures of the proxy's request path. Layers throw these; only `respond.ts` turns them into
 * responses (linkerd2-proxy's `ServerRescue`), so a 503 always says why in its `weft-error` header.
 */
import type { WeftErrorCode, WeftErrorReason } from '../../api/error-codes';
import { WeftError } from '../../api/errors';

const kProxyError = Symbol.for('weft.proxy.error');

/** gRPC status codes the proxy emits (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** Extra facts shown in the `weft-error` header (`route=…`, `cluster=…`, `policy=…`). */
export type ErrorDetails = Readonly<Record<string, string | number | undefined>>;

/**
 * A failure the proxy itself produced. `reason` is the stable token sent in `weft-error`;
 * `status`/`grpcStatus` are what the downstream sees.
 */
export class ProxyError extends WeftError {
  constructor(
    code: WeftErrorCode,
    /** Stable reason token for the `weft-error` header and metrics (`timeout`, `no_endpoints`…), registered in api/error-codes.ts. */
    public readonly reason: WeftErrorReason,
    /** HTTP status of the synthetic response. */
    public readonly status: number,
    /** gRPC status of the trailers-only response for gRPC requests. */
    public readonly grpcStatus: number,
    message: string,
    /** Facts appended to the header as `key=value`. */
    public readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ProxyError';
    Object.defineProperty(this, kProxyError, { value: true });
  }

  /** True for any ProxyError, even from another copy of this module. */
  public static isProxyError(e: unknown): e is ProxyError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[kProxyError] === true;
  }
}

/** The route, stream or per-try deadline passed before the response headers arrived → 504. */
export class TimeoutError extends ProxyError {
  constructor(kind: 'timeout' | 'per_try_timeout' | 'stream_timeout', ms: number, details: ErrorDetails = {}) {
    super('WEFT_ERR_TIMEOUT', kind, 504, GrpcStatus.DEADLINE_EXCEEDED, `${kind.replace(/_/g, ' ')} after ${ms}ms`, details);
    this.name = 'TimeoutError';
  }
}

/** The cluster has no endpoint that may take a request (none known, or all ejected) → 503. */
export class NoEndpointsError extends ProxyError {
  constructor(cluster: string) {
    super('WEFT_ERR_NO_ENDPOINTS', 'no_endpoints', 503, GrpcStatus.UNAVAILABLE, `cluster ${cluster} has no available endpoints`, { cluster });
    this.name = 'NoEndpointsError';
  }
}

/** The route names a cluster the config does not (yet) hold: a dangling reference → 503. */
export class ClusterNotFoundError extends ProxyError {
  constructor(cluster: string) {
    super('WEFT_ERR_CLUSTER_NOT_FOUND', 'cluster_not_found', 503, GrpcStatus.UNAVAILABLE, `cluster ${cluster} is not in the current config`, { cluster });
    this.name = 'ClusterNotFoundError';
  }
}

/** No virtual host or route matched the request → 404 (UNIMPLEMENTED for gRPC). */
export class NoRouteError extends ProxyError {
  constructor(authority: string, path: string) {
    super('WEFT_ERR_NO_ROUTE', 'no_route', 404, GrpcStatus.UNIMPLEMENTED, `no route for ${authority}${path}`, { authority });
    this.name = 'NoRouteError';
  }
}

/** A circuit breaker (max concurrent requests) is open → 503. */
export class CircuitOpenError extends ProxyError {
  constructor(cluster: string, limit: string) {
    super('WEFT_ERR_CIRCUIT_OPEN', 'circuit_open', 503, GrpcStatus.UNAVAILABLE, `cluster ${cluster} reached ${limit}`, { cluster, limit });
    this.name = 'CircuitOpenError';
  }
}

/** The pending-request queue of a cluster is full → 503. */
export class OverflowError extends ProxyError {
  constructor(cluster: string) {
    super('WEFT_ERR_OVERFLOW', 'overflow', 503, GrpcStatus.UNAVAILABLE, `cluster ${cluster} pending queue is full`, { cluster });
    this.name = 'OverflowError';
  }
}

/** A local token bucket is empty → 429. */
export class RateLimitedError extends ProxyError {
  constructor(scope: string) {
    super('WEFT_ERR_RATE_LIMITED', 'rate_limited', 429, GrpcStatus.RESOURCE_EXHAUSTED, `rate limit of ${scope} exceeded`, { scope });
    this.name = 'RateLimitedError';
  }
}

/** An authorization policy denied the request → 403. */
export class DeniedError extends ProxyError {
  constructor(policy: string | undefined, rule: string | undefined) {
    super('WEFT_ERR_DENIED', 'denied', 403, GrpcStatus.PERMISSION_DENIED, `denied by ${policy ?? 'default policy'}${rule ? ` rule ${rule}` : ''}`, { policy, rule });
    this.name = 'DeniedError';
  }
}

/** The connection to the endpoint could not be made → 502. Safe to retry: nothing was sent. */
export class ConnectFailureError extends ProxyError {
  constructor(endpoint: string, options?: { cause?: unknown }) {
    super('WEFT_ERR_CONNECT_FAILURE', 'connect_failure', 502, GrpcStatus.UNAVAILABLE, `cannot connect to ${endpoint}`, { endpoint }, options);
    this.name = 'ConnectFailureError';
  }
}

/** The endpoint reset or closed the stream before the response headers → 502. */
export class UpstreamResetError extends ProxyError {
  constructor(endpoint: string | undefined, options?: { cause?: unknown }) {
    super('WEFT_ERR_UPSTREAM_RESET', 'upstream_reset', 502, GrpcStatus.UNAVAILABLE, `upstream ${endpoint ?? ''} reset the stream`.replace('  ', ' '), { endpoint }, options);
    this.name = 'UpstreamResetError';
  }
}

/** The downstream went away; nobody will read the response (no status is sent). */
export class CancelledError extends ProxyError {
  constructor() {
    super('WEFT_ERR_CANCELLED', 'cancelled', 499, GrpcStatus.CANCELLED, 'the downstream cancelled the request', {});
    this.name = 'CancelledError';
  }
}

/** A bug or an unexpected failure inside the proxy → 500. */
export class InternalProxyError extends ProxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEFT_ERR_PROXY_INTERNAL', 'internal', 500, GrpcStatus.INTERNAL, message, {}, options);
    this.name = 'InternalProxyError';
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'WEFT_ERR_CONNECT_FAILURE']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_HTTP2_STREAM_ERROR', 'ERR_HTTP2_STREAM_CANCEL', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_SESSION_ERROR', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'HPE_INVALID_CONSTANT']);

/**
 * Turns whatever an endpoint client threw into a ProxyError, so the retry layer, outlier detection
 * and respond.ts all classify the same way. Unknown errors count as resets (the request may have
 * been sent), never as connect failures.
 */
export function toProxyError(err: unknown, endpoint?: string): ProxyError {
  if (ProxyError.isProxyError(err)) return err;
  const code = typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? '') : '';
  if (CONNECT_CODES.has(code)) return new ConnectFailureError(endpoint ?? 'endpoint', { cause: err });
  if (RESET_CODES.has(code)) return new UpstreamResetError(endpoint, { cause: err });
  if (typeof err === 'object' && err !== null && (err as { name?: string }).name === 'AbortError') return new CancelledError();
  return new UpstreamResetError(endpoint, { cause: err });
}
