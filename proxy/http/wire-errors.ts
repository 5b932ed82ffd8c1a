/**
 * Errors raised at the wire by the servers themselves, before any layer runs: a malformed or
 * over-limit request, and load shedding. They are ProxyErrors, so respond.ts maps them like any.
 */
import type { WeftErrorReason } from '../../api/error-codes';
import { GrpcStatus, ProxyError } from './errors';

/** A downstream request refused before routing; `status` (400, 431 or 501) is what the client gets. */
export class BadRequestError extends ProxyError {
  constructor(
    code: 'WEFT_ERR_BAD_REQUEST' | 'WEFT_ERR_HEADERS_TOO_LARGE' | 'WEFT_ERR_BAD_PATH' | 'WEFT_ERR_BAD_HEADER' | 'WEFT_ERR_UNSUPPORTED_TRANSFER_CODING',
    message: string,
    status: 400 | 431 | 501,
  ) {
    super(code, code.slice('WEFT_ERR_'.length).toLowerCase() as WeftErrorReason, status,
      status === 431 ? GrpcStatus.RESOURCE_EXHAUSTED : status === 501 ? GrpcStatus.UNIMPLEMENTED : GrpcStatus.INTERNAL, message);
    this.name = 'BadRequestError';
  }
}

/** The proxy is shedding load (event-loop lag, heap): 503 and the connection is closed. */
export class OverloadedError extends ProxyError {
  constructor(public readonly why: string) {
    super('WEFT_ERR_OVERLOADED', 'overloaded', 503, GrpcStatus.UNAVAILABLE, `proxy overloaded: ${why}`);
    this.name = 'OverloadedError';
  }
}

/** The peer's certificate did not carry the SPIFFE identity the config expects (a connect failure). */
export class PeerIdentityError extends Error {
  /** Stable code (Node's own code for a SAN mismatch, so toProxyError calls it a connect failure). */
  readonly code = 'ERR_TLS_CERT_ALTNAME_INVALID';
  constructor(public readonly expected: string, public readonly actual: string | undefined) {
    super(`peer identity ${actual ?? '(none)'} is not the expected ${expected}`);
    this.name = 'PeerIdentityError';
  }
}
