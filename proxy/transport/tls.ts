/**
 * mTLS contexts built from the workload identity. Contexts are rebuilt when the identity
 * rotates; each new connection takes the current one. Peers are checked by SPIFFE URI SAN,
 * never by DNS name (the mesh CA signs SPIFFE identities, not host names).
 */
import * as tls from 'node:tls';
import type { IdentityMaterial, IdentityProvider } from '../identity/types';
import { spiffeIdOf } from '../http/peer';
import { PeerIdentityError } from '../http/wire-errors';
import { secureContextOptions } from '../identity/tls';

/** Sidecars only talk to sidecars (same build), so the floor is TLS 1.3. */
export const SIDECAR_MIN_TLS: tls.SecureVersion = 'TLSv1.3';

/** The current server and client contexts for one identity provider. */
export class TlsContexts {
  #material: IdentityMaterial | undefined;
  #server: tls.SecureContext | undefined;
  #client: tls.SecureContext | undefined;
  #options: tls.SecureContextOptions | undefined;
  readonly #unsubscribe: () => void;

  constructor(readonly identity: IdentityProvider) {
    this.#set(identity.current());
    this.#unsubscribe = identity.onChange((m) => this.#set(m));
  }

  #set(m: IdentityMaterial | undefined): void {
    this.#material = m;
    if (!m) return;
    // the identity module's options (one definition of key/chain/bundle), with TLS 1.3 as the floor between sidecars
    const base = secureContextOptions(m, SIDECAR_MIN_TLS);
    this.#options = base;
    this.#server = tls.createSecureContext(base);
    this.#client = tls.createSecureContext(base);
  }

  /** The identity the contexts were built from, or undefined before the first certificate. */
  get material(): IdentityMaterial | undefined {
    return this.#material;
  }

  /** Context for accepting mTLS (undefined until a certificate exists: inbound mTLS fails closed). */
  server(): tls.SecureContext | undefined {
    return this.#server;
  }

  /** The PEM options the server context was built from (a new object after each rotation). */
  serverOptions(): tls.SecureContextOptions | undefined {
    return this.#options;
  }

  /** Context for dialing another sidecar. */
  client(): tls.SecureContext | undefined {
    return this.#client;
  }

  /** Stops following rotations. */
  close(): void {
    this.#unsubscribe();
  }
}

/**
 * A `checkServerIdentity` that accepts the peer when its SPIFFE ID equals `expected` (any
 * mesh-signed certificate when `expected` is undefined; the chain is verified by OpenSSL).
 */
export function spiffeCheck(expected: string | undefined): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const actual = spiffeIdOf(cert.subjectaltname);
    if (!actual) return new PeerIdentityError(expected ?? 'a SPIFFE identity', undefined);
    if (expected !== undefined && actual !== expected) return new PeerIdentityError(expected, actual);
    return undefined;
  };
}
