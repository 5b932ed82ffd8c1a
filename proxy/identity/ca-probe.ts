/**
 * Who the CA endpoint must be, and why a TLS call to it failed: the CA is checked like the xDS
 * server (anchor, name dialed, the control plane's SPIFFE ID) before any credential is sent, and
 * since grpc-js reports a failed handshake as a plain timeout, the client asks TLS itself after one.
 */
import type { PeerCertificate } from 'node:tls';
import { controlPlaneServerCheck, type ControlPlaneIdentityOptions } from './control-plane-id';
import { TLS_ERRORS, TlsError } from './errors';

export { CONTROL_PLANE_ACCOUNT as CA_SERVICE_ACCOUNT, isControlPlaneIdentity as isCaIdentity } from './control-plane-id';
/** Whose certificate the CA endpoint must present (the control plane's). */
export type CaIdentityOptions = ControlPlaneIdentityOptions;

/**
 * checkServerIdentity for the CA endpoint. Without the SPIFFE check any certificate the anchor's
 * root issued for the CA's name (a corporate root used as the anchor) would receive the credential.
 */
export function caServerCheck(o: CaIdentityOptions): (host: string, cert: PeerCertificate) => Error | undefined {
  return controlPlaneServerCheck(o, (presented, expected) => new TlsError(TLS_ERRORS.CA_WRONG_IDENTITY, `CA endpoint presented ${presented}, expected ${expected}: the credential was not sent`));
}

export { probeControlPlaneTrust as probeCaTrust } from './control-plane-id';
