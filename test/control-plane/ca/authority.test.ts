import 'reflect-metadata';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { generateRoot, splitPemCertificates } from '../../../control-plane/ca/pki';
import { generateKeyAndCsr } from '../../../proxy/identity/csr';
import { makeCa, makeLeaf } from '../../support/certs';

const TD = 'shop.local';
const ID = { namespace: 'shop', serviceAccount: 'cart' };
const SPIFFE = `spiffe://${TD}/ns/shop/sa/cart`;

async function rootCa(extra: Partial<Parameters<typeof CertificateAuthority.create>[0]> = {}) {
  const root = await generateRoot({ trustDomain: TD });
  const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: root.certPem, tlsKey: root.keyPem }, ...extra });
  return { ca, root };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('CertificateAuthority.issue', () => {
  test('signs the CSR key for the identity the credential proved; 24 h by default; chain verifies to the bundle', async () => {
    const { ca, root } = await rootCa();
    const { csrPem, keyPem } = await generateKeyAndCsr();
    const before = Date.now();
    const out = await ca.issue(csrPem, ID);
    const leaf = new X509Certificate(out.certChainPem);
    expect(out.spiffeId).toBe(SPIFFE);
    expect(leaf.subjectAltName).toBe(`URI:${SPIFFE}`);
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(new X509Certificate(root.certPem).publicKey)).toBe(true);
    expect(out.notAfter.getTime() - before).toBeGreaterThan(24 * 3600_000 - 5_000);
    expect(out.notAfter.getTime() - before).toBeLessThanOrEqual(24 * 3600_000 + 5_000);
    expect(out.trustBundlePem).toBe(root.certPem);
    expect(ca.issued).toBe(1);
  });

  test('lifetime is configurable, per CA and per call, and never outlives the signer', async () => {
    const { ca } = await rootCa({ certificateTtlMs: 3600_000 });
    const { csrPem } = await generateKeyAndCsr();
    const a = await ca.issue(csrPem, ID);
    expect(Math.abs(a.notAfter.getTime() - Date.now() - 3600_000)).toBeLessThan(5_000);
    const b = await ca.issue(csrPem, ID, { ttlMs: 120_000 });
    expect(Math.abs(b.notAfter.getTime() - Date.now() - 120_000)).toBeLessThan(5_000);
    const short = await generateRoot({ trustDomain: TD, days: 0.5 });
    const sca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: short.certPem, tlsKey: short.keyPem } });
    const c = await sca.issue(csrPem, ID, { ttlMs: 86_400_000 });
    expect(c.notAfter.getTime()).toBeLessThanOrEqual(Date.parse(new X509Certificate(short.certPem).validTo));
  });

  test('dates from 2050 on are written as GeneralizedTime and read back exactly', async () => {
    const root = await generateRoot({ trustDomain: TD, days: 365 * 40 });
    const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: root.certPem, tlsKey: root.keyPem } });
    const out = await ca.issue((await generateKeyAndCsr()).csrPem, ID, { ttlMs: 30 * 365 * 86_400_000 });
    expect(out.notAfter.getUTCFullYear()).toBeGreaterThanOrEqual(2050);
    expect(new Date(new X509Certificate(out.certChainPem).validTo).getTime()).toBe(out.notAfter.getTime());
  });

  test('a CSR asking for another identity is refused with WEFT_ERR_CA_IDENTITY_MISMATCH; its own identity is fine', async () => {
    const { ca } = await rootCa();
    const other = await generateKeyAndCsr(`spiffe://${TD}/ns/kube-system/sa/admin`);
    expect(await codeOf(ca.issue(other.csrPem, ID))).toBe('WEFT_ERR_CA_IDENTITY_MISMATCH');
    const same = await generateKeyAndCsr(SPIFFE);
    expect((await ca.issue(same.csrPem, ID)).spiffeId).toBe(SPIFFE);
  });

  test('a CSR with a DNS SAN is refused too', async () => {
    const { ca } = await rootCa();
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'kubernetes.default.svc' }])],
    });
    expect(await codeOf(ca.issue(csr.toString('pem'), ID))).toBe('WEFT_ERR_CA_IDENTITY_MISMATCH');
  });

  test('garbage, tampered and non-ECDSA CSRs are refused with their own codes', async () => {
    const { ca } = await rootCa();
    expect(await codeOf(ca.issue('not a csr', ID))).toBe('WEFT_ERR_CA_BAD_CSR');
    const { csrPem } = await generateKeyAndCsr();
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    const der = new Uint8Array(csr.rawData.slice(0));
    der[der.length - 5] ^= 0xff; // flip a signature byte
    expect(await codeOf(ca.issue(x509.PemConverter.encode(der.buffer, 'CERTIFICATE REQUEST'), ID))).toMatch(/WEFT_ERR_CA_BAD_CSR/);
    const rsa = (await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: rsa, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } });
    expect(await codeOf(ca.issue(rsaCsr.toString('pem'), ID))).toBe('WEFT_ERR_CA_BAD_KEY');
  });
});

describe('CA material (cert-manager layout)', () => {
  test('refuses a non-CA certificate, a mismatched key, an expired CA and an intermediate without ca.crt', async () => {
    const test = await makeCa('weft test');
    const leaf = await makeLeaf(test, SPIFFE);
    const other = await generateRoot({ trustDomain: TD });
    const create = (tlsCrt: string, tlsKey: string, caCrt?: string) => CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt, tlsKey, caCrt } });
    expect(await codeOf(create(leaf.certPem, leaf.keyPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    expect(await codeOf(create(test.certPem, other.keyPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    expect(await codeOf(create('', test.keyPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    expect(await codeOf(create(test.certPem, 'garbage'))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    const old = await makeCa('old', { notBefore: new Date(Date.now() - 10 * 86_400_000), days: 2 });
    expect(await codeOf(create(old.certPem, old.keyPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    const inter = await intermediate(test);
    expect(await codeOf(create(inter.certPem, inter.keyPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    expect(await codeOf(create(inter.certPem, inter.keyPem, other.certPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
  });

  test('an intermediate in tls.crt with the root in ca.crt: leaves carry the intermediate, the bundle the root', async () => {
    const root = await makeCa('corp root');
    const inter = await intermediate(root);
    const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: inter.certPem, tlsKey: inter.keyPem, caCrt: root.certPem } });
    const out = await ca.issue((await generateKeyAndCsr()).csrPem, ID);
    const chain = splitPemCertificates(out.certChainPem);
    expect(chain).toHaveLength(2);
    expect(new X509Certificate(chain[1]).fingerprint256).toBe(new X509Certificate(inter.certPem).fingerprint256);
    expect(out.trustBundlePem).toBe(splitPemCertificates(root.certPem).join(''));
    expect(new X509Certificate(chain[0]).verify(new X509Certificate(inter.certPem).publicKey)).toBe(true);
  });

  test('reads SEC1 ("EC PRIVATE KEY") keys as cert-manager writes them', async () => {
    const root = await generateRoot({ trustDomain: TD });
    const sec1 = createPrivateKey(root.keyPem).export({ type: 'sec1', format: 'pem' }) as string;
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: root.certPem, tlsKey: sec1, caCrt: root.certPem } });
    expect((await ca.issue((await generateKeyAndCsr()).csrPem, ID)).spiffeId).toBe(SPIFFE);
  });

  test('trust bundle: add, rotate the signer (old root stays), remove — the signer\'s own root cannot be removed', async () => {
    const { ca, root: a } = await rootCa();
    const b = await generateRoot({ trustDomain: TD });
    ca.addTrustedRoot(b.certPem);
    ca.addTrustedRoot(b.certPem); // idempotent
    expect(splitPemCertificates(ca.trustBundlePem())).toEqual([a.certPem, b.certPem]);
    await ca.rotateSigner({ tlsCrt: b.certPem, tlsKey: b.keyPem });
    expect(splitPemCertificates(ca.trustBundlePem()).sort()).toEqual([a.certPem, b.certPem].sort());
    const leaf = new X509Certificate((await ca.issue((await generateKeyAndCsr()).csrPem, ID)).certChainPem);
    expect(leaf.verify(new X509Certificate(b.certPem).publicKey)).toBe(true);
    ca.removeTrustedRoot(a.certPem);
    ca.removeTrustedRoot(b.certPem);
    expect(splitPemCertificates(ca.trustBundlePem())).toEqual([b.certPem]);
  });
});

/** An intermediate CA signed by `root` (cert-manager CA Issuer backed by a corporate root). */
async function intermediate(root: Awaited<ReturnType<typeof makeCa>>) {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0a1b2c',
    subject: 'CN=weft intermediate',
    issuer: root.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * 86_400_000),
    signingKey: root.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}
