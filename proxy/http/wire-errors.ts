/**
 * Errors raised at the wire: a malformed or over-limit downstream request (answered by the server
 * itself, before any layer runs) and upstream connection failures raised by the endpoint clients.
 */
import { WeftError } from '../../api/errors';

/** A downstream request the server refuses before routing; `status` is what the client gets. */
export class BadRequestError extends WeftError {
  constructor(
    code: 'WEFT_ERR_BAD_REQUEST' | 'WEFT_ERR_HEADERS_TOO_LARGE' | 'WEFT_ERR_BAD_PATH' | 'WEFT_ERR_BAD_HEADER',
    message: string,
    /** HTTP status sent downstream (400 or 431). */
    public readonly status: number,
  ) {
    super(code, message);
    this.name = 'BadRequestError';
  }
}

/** The upstream could not be reached (refused, TLS failure, connect timeout): nothing was sent. */
export class UpstreamConnectError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEFT_ERR_UPSTREAM_CONNECT', message, options);
    this.name = 'UpstreamConnectError';
  }
}

/** The upstream reset or closed the stream before a complete response. */
export class UpstreamResetError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEFT_ERR_UPSTREAM_RESET', message, options);
    this.name = 'UpstreamResetError';
  }
}

/** The peer's certificate did not carry the SPIFFE identity the config expects. */
export class PeerIdentityError extends WeftError {
  constructor(public readonly expected: string, public readonly actual: string | undefined) {
    super('WEFT_ERR_PEER_IDENTITY', `peer identity ${actual ?? '(none)'} is not the expected ${expected}`);
    this.name = 'PeerIdentityError';
  }
}

/** The proxy is shedding load (event-loop lag, heap, or connection cap). */
export class OverloadedError extends WeftError {
  constructor(public readonly reason: string) {
    super('WEFT_ERR_OVERLOADED', `proxy overloaded: ${reason}`);
    this.name = 'OverloadedError';
  }
}
