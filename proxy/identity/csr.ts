/**
 * The proxy's key and CSR. The key is made here (ECDSA P-256, node:crypto webcrypto) and never
 * leaves the process; only the CSR, signed with it, goes to the CA.
 */
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs it loaded first
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A fresh key pair and a CSR for it. */
export interface KeyAndCsr {
  /** PKCS#8 PEM of the private key; stays in this process. */
  readonly keyPem: string;
  readonly csrPem: string;
}

/**
 * Generates an ECDSA P-256 key and a CSR signed with it. `spiffeId`, when given, is asked for as
 * the URI SAN (the CA refuses it unless the credential proves that very identity).
 */
export async function generateKeyAndCsr(spiffeId?: string): Promise<KeyAndCsr> {
  const keys = (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'O=weft',
    keys,
    signingAlgorithm: P256,
    extensions: spiffeId ? [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])] : [],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}
