/**
 * Who the control plane is, for the two endpoints a proxy dials before it trusts anything else
 * (the CA and the xDS server): one rule, so the two checks cannot drift apart.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { WeftError } from '../../api/errors';

/** ServiceAccount of the control plane: its serving certificate names `…/sa/weft-control-plane`. */
export const CONTROL_PLANE_ACCOUNT = 'weft-control-plane';

/** Whose certificate the control plane's endpoints must present. */
export interface ControlPlaneIdentityOptions {
  readonly trustDomain: string;
  /** The exact SPIFFE ID (bootstrap `controlPlane.xdsIdentity`). @default any `spiffe://<trustDomain>/ns/<ns>/sa/weft-control-plane` */
  readonly expectedIdentity?: string;
}

/** The SPIFFE IDs among a certificate's URI SANs. */
export function spiffeIdsOf(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:spiffe://')).map((s) => s.slice(4));
}

/** Whether `id` is the control plane's SPIFFE ID as `o` expects it. */
export function isControlPlaneIdentity(id: string, o: ControlPlaneIdentityOptions): boolean {
  if (o.expectedIdentity) return id === o.expectedIdentity;
  const m = /^spiffe:\/\/([^/]+)\/ns\/[^/]+\/sa\/([^/]+)$/.exec(id);
  return !!m && m[1] === o.trustDomain && m[2] === CONTROL_PLANE_ACCOUNT;
}

/**
 * checkServerIdentity for a control-plane endpoint: the name dialed (DNS or IP SAN), then exactly
 * one SPIFFE ID, the control plane's. `wrong` builds the caller's coded error from what was
 * presented and what was expected.
 */
export function controlPlaneServerCheck(
  o: ControlPlaneIdentityOptions,
  wrong: (presented: string, expected: string) => Error,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const byName = checkServerIdentity(host, cert);
    if (byName) return byName;
    const ids = spiffeIdsOf(cert);
    if (ids.length === 1 && isControlPlaneIdentity(ids[0], o)) return undefined;
    return wrong(ids.join(', ') || 'no SPIFFE ID', o.expectedIdentity ?? `spiffe://${o.trustDomain}/ns/*/sa/${CONTROL_PLANE_ACCOUNT}`);
  };
}

/** Verification errors of a server certificate that mean "wrong or missing trust anchor", not "down". */
export const UNTRUSTED_CODES = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * grpc-js reports a failed handshake only as a timeout or UNAVAILABLE: after a failed call, one TLS
 * handshake to the control-plane endpoint (CA or xDS) with the anchor and `check` tells an untrusted
 * server (the verification error code) or an impostor (the coded error of `check`) from an
 * unreachable one (undefined). Nothing but the handshake is sent.
 */
export function probeControlPlaneTrust(address: string, anchorPem: string, check: (host: string, cert: PeerCertificate) => Error | undefined, servername?: string): Promise<string | WeftError | undefined> {
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
