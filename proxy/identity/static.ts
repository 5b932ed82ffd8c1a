/**
 * A fixed identity read from a directory (bootstrap `identity.staticDir`: cert.pem, key.pem,
 * ca.pem), for tests and setups that bring certificates some other way. `reload()` re-reads it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS_ERRORS, TlsError } from './errors';
import { spiffeIdOfCert } from './spiffe';
import type { IdentityMaterial, IdentityProvider } from './types';

/** File names inside a static identity directory. */
export const STATIC_FILES = { cert: 'cert.pem', key: 'key.pem', ca: 'ca.pem' } as const;

/** Reads and checks a static identity directory; WEFT_ERR_TLS_NO_IDENTITY when unusable. */
export function readStaticIdentity(dir: string): IdentityMaterial {
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch (e) {
      throw new TlsError(TLS_ERRORS.NO_IDENTITY, `cannot read ${join(dir, f)}: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
    }
  };
  const certChainPem = read(STATIC_FILES.cert);
  const keyPem = read(STATIC_FILES.key);
  const trustBundlePem = read(STATIC_FILES.ca);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certChainPem);
  } catch (e) {
    throw new TlsError(TLS_ERRORS.NO_IDENTITY, `${join(dir, STATIC_FILES.cert)} is not a certificate PEM`, { cause: e });
  }
  const spiffeId = spiffeIdOfCert(leaf.subjectAltName);
  if (!spiffeId) throw new TlsError(TLS_ERRORS.NO_IDENTITY, `${join(dir, STATIC_FILES.cert)} has no single SPIFFE URI SAN`);
  return { certChainPem, keyPem, trustBundlePem, spiffeId, notAfter: new Date(leaf.validTo) };
}

/** An IdentityProvider over a static directory. */
export class StaticIdentityProvider implements IdentityProvider {
  private material: IdentityMaterial;
  private readonly listeners = new Set<(m: IdentityMaterial) => void>();

  constructor(public readonly dir: string) {
    this.material = readStaticIdentity(dir);
  }

  public current(): IdentityMaterial | undefined {
    return this.material;
  }

  public onChange(listener: (m: IdentityMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the directory (after an external rotation) and tells the listeners; the old material stays on error. */
  public reload(): IdentityMaterial {
    this.material = readStaticIdentity(this.dir);
    for (const l of this.listeners) l(this.material);
    return this.material;
  }
}

/** A provider over `dir` (see StaticIdentityProvider). */
export function staticIdentity(dir: string): StaticIdentityProvider {
  return new StaticIdentityProvider(dir);
}
