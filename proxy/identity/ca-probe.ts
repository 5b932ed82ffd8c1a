/**
 * Why a TLS call to the CA failed: grpc-js reports a failed handshake as a plain timeout, so after a
 * failure the CA client asks TLS itself whether the CA's certificate verifies against the anchor.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Verification errors of the CA's certificate that mean "wrong or missing trust anchor", not "down". */
const UNTRUSTED_CODES = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * After a failed call: one TLS handshake to the CA with the anchor, to tell an untrusted CA (the
 * verification error, returned) from an unreachable one (undefined). No credential is sent.
 */
export function probeCaTrust(address: string, anchorPem: string, servername?: string): Promise<string | undefined> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.replace(/^dns:(\/\/\/)?/, ''));
  if (!m) return Promise.resolve(undefined);
  const [, host, port] = m;
  return new Promise((resolve) => {
    const s = tlsConnect({ host, port: Number(port), ca: anchorPem, servername: servername ?? (isIP(host) ? undefined : host), ALPNProtocols: ['h2'], timeout: 3000 });
    const done = (v: string | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.once('secureConnect', () => done(undefined));
    s.once('timeout', () => done(undefined));
    s.once('error', (e: NodeJS.ErrnoException) => done(UNTRUSTED_CODES.test(String(e.code)) ? String(e.code) : undefined));
  });
}
