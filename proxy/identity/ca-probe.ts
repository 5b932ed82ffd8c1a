/**
 * Who the CA endpoint must be, and why a TLS call to it failed: the CA is checked like the xDS
 * server (anchor, name dialed, the control plane's SPIFFE ID) before any credential is sent, and
 * since grpc-js reports a failed handshake as a plain timeout, the client asks TLS itself after one.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { WeftError } from '../../api/errors';
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

/** Verification errors of the CA's certificate that mean "wrong or missing trust anchor", not "down". */
const UNTRUSTED_CODES = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * After a failed call: one TLS handshake to the CA with the anchor and `check`, to tell an untrusted
 * CA (the verification error code) or an impostor (the coded error of `check`) from an unreachable
 * one (undefined). No credential is sent.
 */
export function probeCaTrust(address: string, anchorPem: string, check: ReturnType<typeof caServerCheck>, servername?: string): Promise<string | WeftError | undefined> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.replace(/^dns:(\/\/\/)?/, ''));
  if (!m) return Promise.resolve(undefined);
  const [, host, port] = m;
  return new Promise((resolve) => {
    const name = servername ?? host;
    const s = tlsConnect({
      host, port: Number(port), ca: anchorPem, servername: isIP(name) ? undefined : name, ALPNProtocols: ['h2'], timeout: 3000,
      checkServerIdentity: (_h, cert) => check(name, cert),
    });
    const done = (v: string | WeftError | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.once('secureConnect', () => done(undefined));
    s.once('timeout', () => done(undefined));
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (WeftError.isWeftError(e)) return done(e);
      done(UNTRUSTED_CODES.test(String(e.code)) ? String(e.code) : undefined);
    });
  });
}
