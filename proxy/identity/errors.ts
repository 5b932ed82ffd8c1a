/**
 * Errors of the proxy's identity and TLS code. Each refusal of a peer or a certificate has its
 * own stable code, so a failed handshake says why in logs, metrics and tests.
 */
import { WeftError } from '../../api/errors';

/** Stable codes of the proxy's identity and TLS handling. */
export const TLS_ERRORS = {
  /** Plaintext arrived on a STRICT port. */
  PLAINTEXT_REFUSED: 'WEFT_ERR_TLS_PLAINTEXT_REFUSED',
  /** The peer sent no certificate where one is required. */
  NO_PEER_CERT: 'WEFT_ERR_TLS_NO_PEER_CERT',
  /** The peer's certificate does not chain to the trust bundle. */
  UNTRUSTED: 'WEFT_ERR_TLS_UNTRUSTED',
  /** The peer's certificate is expired or not yet valid. */
  EXPIRED: 'WEFT_ERR_TLS_CERT_EXPIRED',
  /** The peer's certificate has no (or more than one) SPIFFE URI SAN, or one outside our trust domain. */
  BAD_PEER_IDENTITY: 'WEFT_ERR_TLS_BAD_PEER_IDENTITY',
  /** The peer proved an identity other than the one expected for the destination. */
  WRONG_IDENTITY: 'WEFT_ERR_TLS_WRONG_IDENTITY',
  /** This proxy has no certificate (yet, or any more): mTLS fails closed. */
  NO_IDENTITY: 'WEFT_ERR_TLS_NO_IDENTITY',
  /** The handshake failed for another reason (protocol, cipher, reset, timeout). */
  HANDSHAKE: 'WEFT_ERR_TLS_HANDSHAKE',
  /** The CA answered a certificate this proxy cannot use (wrong key, wrong trust domain, expired). */
  BAD_CA_RESPONSE: 'WEFT_ERR_IDENTITY_BAD_CA_RESPONSE',
  /** The CA could not be reached. */
  CA_UNAVAILABLE: 'WEFT_ERR_CA_UNAVAILABLE',
  /** The CA endpoint's certificate does not verify against the proxy's trust anchor (or names another host): nothing was sent. */
  CA_UNTRUSTED: 'WEFT_ERR_IDENTITY_CA_UNTRUSTED',
  /** The CA endpoint's certificate verifies and names the host dialed, but carries another SPIFFE ID than the control plane's: nothing was sent. */
  CA_WRONG_IDENTITY: 'WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY',
} as const;

export type TlsErrorCode = (typeof TLS_ERRORS)[keyof typeof TLS_ERRORS];

/** A TLS or identity refusal; `code` is stable. */
export class TlsError extends WeftError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TlsError';
  }
}

/** Maps an OpenSSL / Node TLS error to a coded TlsError (already coded errors pass through). */
export function classifyTlsError(e: unknown): WeftError {
  if (WeftError.isWeftError(e)) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const msg = String((e as Error)?.message ?? e);
  const wrap = (c: TlsErrorCode) => new TlsError(c, `${c}: ${code || msg}`, { cause: e });
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID' || /certificate expired|sslv3 alert certificate expired/i.test(msg)) return wrap(TLS_ERRORS.EXPIRED);
  if (/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED)$/.test(code) || /unknown ca|bad certificate/i.test(msg)) {
    return wrap(TLS_ERRORS.UNTRUSTED);
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || /certificate required|did not return a certificate/i.test(msg)) return wrap(TLS_ERRORS.NO_PEER_CERT);
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST' || /wrong version number|http request/i.test(msg)) return wrap(TLS_ERRORS.PLAINTEXT_REFUSED);
  return wrap(TLS_ERRORS.HANDSHAKE);
}
