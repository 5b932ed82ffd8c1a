/**
 * X.509 building blocks of the CA on node:crypto (webcrypto) through @peculiar/x509: keys,
 * self-signed roots, PEM splitting and importing a signing key whatever its PEM flavour.
 */
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs it loaded first
import { X509Certificate as NodeX509, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CA_ERRORS, CaError } from './errors';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** ECDSA P-256 with SHA-256: the key type of generated roots and of workload keys. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A signing key imported into webcrypto with the algorithm to sign with. */
export interface SigningKey {
  readonly key: CryptoKey;
  readonly algorithm: Algorithm | EcdsaParams;
}

/** Every PEM certificate block in `pem`, in order. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => b + '\n') ?? [];
}

/** A random positive 128-bit serial in hex (RFC 5280 §4.1.2.2: ≤ 20 octets, positive). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01; // no leading zero octet, so the encoding is stable
  return b.toString('hex');
}

/**
 * Imports a private key PEM (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 RSA, as cert-manager writes
 * them) for signing. Throws WEFT_ERR_CA_BAD_MATERIAL for key types the CA cannot sign with.
 */
export async function importSigningKey(keyPem: string): Promise<SigningKey> {
  let ko;
  try {
    ko = createPrivateKey(keyPem);
  } catch (e) {
    throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.key is not a readable private key PEM', { cause: e });
  }
  const der = ko.export({ type: 'pkcs8', format: 'der' });
  let algorithm: Algorithm | EcdsaParams;
  let importAlg: Algorithm;
  if (ko.asymmetricKeyType === 'ec') {
    const curve = ko.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!named) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `tls.key uses curve ${curve}; use P-256 or P-384`);
    importAlg = { name: 'ECDSA', namedCurve: named } as EcKeyImportParams;
    algorithm = { name: 'ECDSA', hash: named === 'P-256' ? 'SHA-256' : 'SHA-384' } as EcdsaParams;
  } else if (ko.asymmetricKeyType === 'rsa') {
    importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams;
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
  } else {
    throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `tls.key is a ${ko.asymmetricKeyType} key; use ECDSA P-256/P-384 or RSA`);
  }
  const key = await webcrypto.subtle.importKey('pkcs8', der, importAlg, false, ['sign']);
  return { key: key as unknown as CryptoKey, algorithm };
}

/** PKCS#8 PEM of an extractable private key. */
export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Generates an ECDSA P-256 key pair (extractable, so a generated root can be persisted). */
export async function generateP256(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

/** Props of a generated root. */
export interface RootProps {
  readonly trustDomain: string;
  /** Lifetime of the root in days. @default 3650 (ten years; rotate with overlap well before) */
  readonly days?: number;
  /** Start of validity. @default one minute before now (clock skew) */
  readonly notBefore?: Date;
}

/** A freshly generated self-signed root (ECDSA P-256) with a unique name, so old and new roots never collide during a rotation. */
export async function generateRoot(props: RootProps): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateP256();
  const notBefore = props.notBefore ?? new Date(Date.now() - 60_000);
  const days = props.days ?? 3650;
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `O=weft, CN=weft root ${props.trustDomain} ${serial.slice(0, 8)}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86_400_000),
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** node:crypto's view of a PEM certificate; WEFT_ERR_CA_BAD_MATERIAL when unreadable. */
export function nodeCert(pem: string, what: string): NodeX509 {
  try {
    return new NodeX509(pem);
  } catch (e) {
    throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `${what} is not a readable certificate PEM`, { cause: e });
  }
}
