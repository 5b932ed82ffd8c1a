/**
 * TLS to the xDS server: the control plane is verified against the bootstrap's trust anchor (the
 * one the CA client uses), by the name dialed and by its SPIFFE ID, before any node metadata is
 * sent; the proxy's workload certificate, when it has one, is presented for node authentication.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { WeftError } from '../../api/errors';
import { controlPlaneServerCheck, probeControlPlaneTrust } from '../identity/control-plane-id';
import type { IdentityMaterial } from '../identity/types';

/** Stable codes of the proxy's xDS connection. */
export const XDS_ERRORS = {
  /** The xDS server's certificate does not chain to the trust anchor, or does not name the address dialed: nothing was sent. */
  UNTRUSTED: 'WEFT_ERR_XDS_UNTRUSTED',
  /** The xDS server's certificate chains to the anchor but carries another SPIFFE ID than the control plane's. */
  WRONG_IDENTITY: 'WEFT_ERR_XDS_WRONG_IDENTITY',
  /** The trust anchor file cannot be read or holds no certificate. */
  TRUST_ANCHOR: 'WEFT_ERR_XDS_TRUST_ANCHOR',
  /** The stream failed for another reason (server down, reset); the code of a refusal (`weft-error`) is kept as is. */
  UNAVAILABLE: 'WEFT_ERR_XDS_UNAVAILABLE',
} as const;

/** A coded xDS connection error. */
export class XdsError extends WeftError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'XdsError';
  }
}

export { CONTROL_PLANE_ACCOUNT, isControlPlaneIdentity } from '../identity/control-plane-id';

/** How the proxy verifies the xDS server. */
export interface XdsTlsOptions {
  /** Root(s) the server's certificate must chain to: inline PEM, or a file re-read at every connection attempt. */
  readonly trustAnchor: { readonly file?: string; readonly pem?: string };
  readonly trustDomain: string;
  /** SPIFFE ID the server must present. @default `spiffe://<trustDomain>/ns/<any namespace>/sa/weft-control-plane` */
  readonly expectedIdentity?: string;
  /** Channel options (e.g. `grpc.ssl_target_name_override` when the address is not a name in the certificate). @default none */
  readonly channelOptions?: grpc.ChannelOptions;
}

/** The anchor PEM; a coded error when the file is unreadable or holds no certificate. */
export function readTrustAnchor(a: XdsTlsOptions['trustAnchor']): string {
  if (a.pem) return a.pem;
  try {
    const pem = readFileSync(a.file!, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw Object.assign(new Error('no PEM certificate in the file'), { code: 'EBADPEM' });
    return pem;
  } catch (e) {
    throw new XdsError(XDS_ERRORS.TRUST_ANCHOR, `cannot read the xDS trust anchor ${a.file}: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
  }
}

/** checkServerIdentity for the xDS server: the name dialed (DNS or IP SAN), then exactly one SPIFFE ID, the control plane's. */
export function controlPlaneCheck(o: Pick<XdsTlsOptions, 'trustDomain' | 'expectedIdentity'>): (host: string, cert: PeerCertificate) => Error | undefined {
  return controlPlaneServerCheck(o, (presented, expected) => new XdsError(XDS_ERRORS.WRONG_IDENTITY, `xDS server presented ${presented}, expected ${expected}`));
}

/** Channel credentials: TLS verified by `check` against `anchorPem`, with the workload certificate when given. */
export function xdsChannelCredentials(anchorPem: string, check: ReturnType<typeof controlPlaneCheck>, cert?: IdentityMaterial): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(anchorPem), cert ? Buffer.from(cert.keyPem) : null, cert ? Buffer.from(cert.certChainPem) : null, { checkServerIdentity: check });
}

/**
 * After a stream fails without a response: the shared control-plane probe, with its findings as
 * this client's coded errors (an untrusted server → WEFT_ERR_XDS_UNTRUSTED).
 */
export async function probeXdsTrust(address: string, anchorPem: string, check: ReturnType<typeof controlPlaneCheck>, servername?: string): Promise<XdsError | undefined> {
  const found = await probeControlPlaneTrust(address, anchorPem, check, servername);
  if (typeof found === 'string') return new XdsError(XDS_ERRORS.UNTRUSTED, `xDS server ${address} is not trusted: ${found} (check the trust anchor)`);
  return found as XdsError | undefined;
}
