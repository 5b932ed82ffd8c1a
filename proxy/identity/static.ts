/**
 * A fixed identity from files (cert.pem, key.pem, ca.pem in `identity.staticDir`), for tests and
 * setups without the CA. `reload()` re-reads the files and notifies listeners (rotation by hand).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { WeftError } from '../../api/errors';
import { spiffeIdOf } from '../http/peer';
import type { IdentityMaterial, IdentityProvider } from './types';

/** An IdentityProvider over static PEM files. */
export interface StaticIdentity extends IdentityProvider {
  /** Re-reads the files; listeners hear about the new material. */
  reload(): IdentityMaterial;
}

/** Reads `dir`/{cert,key,ca}.pem; throws `WEFT_ERR_IDENTITY` when a file is missing or has no SPIFFE ID. */
export function staticIdentity(dir: string): StaticIdentity {
  const listeners = new Set<(m: IdentityMaterial) => void>();
  const read = (): IdentityMaterial => {
    try {
      const certChainPem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
      const keyPem = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
      const trustBundlePem = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
      const cert = new X509Certificate(certChainPem);
      const spiffeId = spiffeIdOf(cert.subjectAltName);
      if (!spiffeId) throw new Error('cert.pem has no spiffe:// URI SAN');
      return { certChainPem, keyPem, trustBundlePem, spiffeId, notAfter: new Date(cert.validTo) };
    } catch (e) {
      throw new WeftError('WEFT_ERR_IDENTITY', `static identity in ${dir}: ${(e as Error).message}`, { cause: e });
    }
  };
  let current = read();
  return {
    current: () => current,
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    reload() {
      current = read();
      for (const l of listeners) l(current);
      return current;
    },
  };
}
