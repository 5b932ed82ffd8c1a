/**
 * Errors of the certificate authority. Every refusal has its own stable code so the proxy, the
 * logs and the tests can tell "bad token" from "CSR asked for someone else" without parsing prose.
 */
import { WeftError } from '../../api/errors';

/** Stable codes of the CA; the gRPC service maps each to a status code (see service.ts). */
export const CA_ERRORS = {
  /** The CA material (cert-manager Secret layout) is missing, unreadable or inconsistent. */
  BAD_CA_MATERIAL: 'WEFT_ERR_CA_BAD_MATERIAL',
  /** The credential was missing, unknown, already used or rejected by the TokenReview. */
  UNAUTHENTICATED: 'WEFT_ERR_CA_UNAUTHENTICATED',
  /** The credential was valid once but has expired. */
  TOKEN_EXPIRED: 'WEFT_ERR_CA_TOKEN_EXPIRED',
  /** The credential is valid but does not name a workload identity (not a ServiceAccount, wrong audience). */
  NOT_A_WORKLOAD: 'WEFT_ERR_CA_NOT_A_WORKLOAD',
  /** The CSR could not be parsed, or its signature does not verify. */
  BAD_CSR: 'WEFT_ERR_CA_BAD_CSR',
  /** The CSR's key is not one the CA signs (ECDSA P-256/P-384). */
  BAD_KEY: 'WEFT_ERR_CA_BAD_KEY',
  /** The CSR asks for a name other than the identity the credential proves. */
  IDENTITY_MISMATCH: 'WEFT_ERR_CA_IDENTITY_MISMATCH',
  /** The Kubernetes API (TokenReview, Secret) could not be reached or answered an error. */
  KUBERNETES: 'WEFT_ERR_CA_KUBERNETES',
  /** A client certificate presented for renewal is expired or not yet valid. */
  CERT_EXPIRED: 'WEFT_ERR_CA_CERT_EXPIRED',
  /** A client certificate presented for renewal was not issued by this mesh's CA, or names no workload. */
  CERT_UNTRUSTED: 'WEFT_ERR_CA_CERT_UNTRUSTED',
  /** The trust bundle could not be written where the sidecars read it (`<stateDir>/ca-root.pem`); the CA itself has changed. */
  TRUST_ANCHOR_WRITE: 'WEFT_ERR_CA_TRUST_ANCHOR_WRITE',
  /** The CA could not be reached, or answered something the client cannot use. */
  UNAVAILABLE: 'WEFT_ERR_CA_UNAVAILABLE',
} as const;

export type CaErrorCode = (typeof CA_ERRORS)[keyof typeof CA_ERRORS];

/** A refusal or failure of the certificate authority. */
export class CaError extends WeftError {
  constructor(code: CaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CaError';
  }
}
