/**
 * mTLS between sidecars from an IdentityMaterial: server and client options with ALPN, SPIFFE
 * checks of the peer (outbound: the identity the control plane expects; inbound: any identity
 * of our trust domain), and contexts rebuilt on rotation without touching open connections.
 */
import * as tls from 'node:tls';
import { parseSpiffeId } from '../../api/names';
import { Clock, systemClock } from './clock';
import { TLS_ERRORS, TlsError, classifyTlsError } from './errors';
import { spiffeIdOfCert } from './spiffe';
import type { IdentityMaterial, IdentityProvider } from './types';

/** ALPN offered and accepted by sidecars, most preferred first. */
export const ALPN_PROTOCOLS: readonly string[] = ['h2', 'http/1.1'];

/** TLS 1.2 is the floor (TLS 1.3 preferred), as in Istio and Linkerd. */
const MIN_VERSION: tls.SecureVersion = 'TLSv1.2';

/**
 * Secure-context options (key, chain, trust bundle) of one identity generation; `minVersion` lets
 * the sidecar transport (proxy/transport/tls.ts) raise the floor to TLS 1.3 between sidecars.
 */
export function secureContextOptions(m: IdentityMaterial, minVersion: tls.SecureVersion = MIN_VERSION): tls.SecureContextOptions {
  return { key: m.keyPem, cert: m.certChainPem, ca: m.trustBundlePem, minVersion };
}

/**
 * Options of an inbound (server) TLS endpoint. A client certificate is always requested; it is
 * checked by `verifyPeer` after the handshake, so every refusal gets its own code.
 */
export function serverTlsOptions(m: IdentityMaterial): tls.TlsOptions {
  return { ...secureContextOptions(m), requestCert: true, rejectUnauthorized: false, ALPNProtocols: [...ALPN_PROTOCOLS] };
}

/** What an outbound connection expects of the server it reaches. */
export interface ExpectedPeer {
  /** SPIFFE ID(s) the destination may present (from the control plane). @default any identity of our trust domain */
  readonly identities?: readonly string[];
  /** SNI to send. @default none */
  readonly servername?: string;
  /** Clock for the validity check. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Options of an outbound (client) mTLS connection: our certificate, the trust bundle as the only
 * roots, and a server identity check on the SPIFFE URI SAN instead of the host name.
 */
export function clientTlsOptions(m: IdentityMaterial, expected: ExpectedPeer = {}): tls.ConnectionOptions {
  const trustDomain = parseSpiffeId(m.spiffeId)?.trustDomain;
  return {
    ...secureContextOptions(m),
    ALPNProtocols: [...ALPN_PROTOCOLS],
    servername: expected.servername,
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => {
      try {
        checkPeerCertificate(cert, { trustDomain, identities: expected.identities, clock: expected.clock });
        return undefined;
      } catch (e) {
        return e as Error;
      }
    },
  };
}

/** What `verifyPeer` / `checkPeerCertificate` require of a peer. */
export interface PeerRequirements {
  /** Trust domain the peer must belong to. @default any */
  readonly trustDomain?: string;
  /** Acceptable SPIFFE IDs. @default any in the trust domain */
  readonly identities?: readonly string[];
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Checks a peer certificate's SPIFFE ID and validity window; returns the SPIFFE ID or throws a coded TlsError. */
export function checkPeerCertificate(cert: tls.PeerCertificate | undefined, req: PeerRequirements = {}): string {
  if (!cert || Object.keys(cert).length === 0) throw new TlsError(TLS_ERRORS.NO_PEER_CERT, 'peer presented no certificate');
  const now = (req.clock ?? systemClock).now();
  if (Date.parse(cert.valid_to) <= now || Date.parse(cert.valid_from) > now) {
    throw new TlsError(TLS_ERRORS.EXPIRED, `peer certificate valid ${cert.valid_from} – ${cert.valid_to}`);
  }
  const id = spiffeIdOfCert(cert.subjectaltname);
  if (!id) throw new TlsError(TLS_ERRORS.BAD_PEER_IDENTITY, 'peer certificate has no single SPIFFE URI SAN');
  const parsed = parseSpiffeId(id);
  if (!parsed || (req.trustDomain !== undefined && parsed.trustDomain !== req.trustDomain)) {
    throw new TlsError(TLS_ERRORS.BAD_PEER_IDENTITY, `peer ${id} is not a workload of trust domain ${req.trustDomain ?? '?'}`);
  }
  if (req.identities && req.identities.length > 0 && !req.identities.includes(id)) {
    throw new TlsError(TLS_ERRORS.WRONG_IDENTITY, `peer is ${id}, expected ${req.identities.join(' or ')}`);
  }
  return id;
}

/**
 * Verifies the peer of an established TLS socket: chain to the trust bundle (Node's verdict),
 * then `checkPeerCertificate`. Returns the peer's SPIFFE ID or throws a coded TlsError.
 */
export function verifyPeer(socket: tls.TLSSocket, req: PeerRequirements = {}): string {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) throw new TlsError(TLS_ERRORS.NO_PEER_CERT, 'peer presented no certificate');
  if (!socket.authorized) {
    const err = socket.authorizationError as unknown as Error | string | undefined;
    throw classifyTlsError(typeof err === 'string' ? { code: err, message: err } : err ?? { code: 'CERT_UNTRUSTED' });
  }
  return checkPeerCertificate(cert, req);
}

/**
 * The secure contexts of the current identity, rebuilt when the provider changes. New
 * connections take the new context; open ones keep theirs (TLS never re-keys them), so a
 * rotation drops nothing.
 */
export class TlsContexts {
  private built: { m: IdentityMaterial; ctx: tls.SecureContext } | undefined;
  private readonly servers = new Set<tls.Server>();
  private readonly unsubscribe: () => void;

  constructor(public readonly provider: IdentityProvider) {
    this.unsubscribe = provider.onChange((m) => {
      for (const s of this.servers) s.setSecureContext(secureContextOptions(m));
    });
  }

  /** The current material, or throws WEFT_ERR_TLS_NO_IDENTITY (none yet, or expired): mTLS fails closed. */
  public material(): IdentityMaterial {
    const m = this.provider.current();
    if (!m) throw new TlsError(TLS_ERRORS.NO_IDENTITY, 'no workload certificate (not issued yet, or expired)');
    return m;
  }

  /** The SecureContext of the current material (cached per generation). */
  public context(): tls.SecureContext {
    const m = this.material();
    if (this.built?.m !== m) this.built = { m, ctx: tls.createSecureContext(secureContextOptions(m)) };
    return this.built.ctx;
  }

  /** Our trust domain. */
  public trustDomain(): string | undefined {
    const m = this.provider.current();
    return m ? parseSpiffeId(m.spiffeId)?.trustDomain : undefined;
  }

  /** Client options for one outbound connection with the current identity (see `clientTlsOptions`). */
  public clientOptions(expected: ExpectedPeer = {}): tls.ConnectionOptions {
    const m = this.material();
    return { ...clientTlsOptions(m, expected), secureContext: this.context() };
  }

  /** Keeps `server`'s context current: `setSecureContext` on every change (existing connections keep theirs). */
  public attach(server: tls.Server): void {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
  }

  /** Stops following the provider. */
  public close(): void {
    this.unsubscribe();
    this.servers.clear();
  }
}
