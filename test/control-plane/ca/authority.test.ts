import 'reflect-metadata';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { generateRoot, splitPemCertificates } from '../../../control-plane/ca/pki';
import { generateKeyAndCsr } from '../../../proxy/identity/csr';
import { makeCa, makeIntermediate, makeLeaf } from '../../support/certs';

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
    const after = Date.now();
    const leaf = new X509Certificate(out.certChainPem);
    expect(out.spiffeId).toBe(SPIFFE);
    expect(leaf.subjectAltName).toBe(`URI:${SPIFFE}`);
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(new X509Certificate(root.certPem).publicKey)).toBe(true);
    expect(out.notAfter.getTime() - before).toBeGreaterThan(24 * 3600_000 - 5_000);
    expect(out.notAfter.getTime()).toBeLessThanOrEqual(after + 24 * 3600_000 + 1_000);
    expect(out.trustBundlePem).toBe(root.certPem);
    expect(ca.issued).toBe(1);
  });

  test('lifetime is configurable, per CA and per call, and never outlives the signer', async () => {
    const { ca } = await rootCa({ certificateTtlMs: 3600_000 });
    const { csrPem } = await generateKeyAndCsr();
    // bracketed by the clock before and after each call (X.509 times have 1 s resolution), so a slow machine cannot fail it
    const issuedWithin = async (ttlMs: number, opts?: { ttlMs: number }) => {
      const t0 = Date.now();
      const out = await ca.issue(csrPem, ID, opts);
      const t1 = Date.now();
      expect(out.notAfter.getTime()).toBeGreaterThanOrEqual(t0 + ttlMs - 1_000);
      expect(out.notAfter.getTime()).toBeLessThanOrEqual(t1 + ttlMs + 1_000);
    };
    await issuedWithin(3600_000);
    await issuedWithin(120_000, { ttlMs: 120_000 });
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
    const inter = await makeIntermediate(test);
    expect(await codeOf(create(inter.certPem, inter.keyPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    expect(await codeOf(create(inter.certPem, inter.keyPem, other.certPem))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
  });

  test('an intermediate in tls.crt with the root in ca.crt: leaves carry the intermediate, the bundle the root', async () => {
    const root = await makeCa('corp root');
    const inter = await makeIntermediate(root);
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


describe('trust changes', () => {
  const leafOf = async (ca: CertificateAuthority) => {
    const { csrPem } = await generateKeyAndCsr();
    return (await ca.issue(csrPem, ID)).certChainPem;
  };

  test('a listener that throws (or rejects) neither undoes the rotation nor stops the listeners after it; it is reported', async () => {
    const reported: unknown[] = [];
    const { ca, root: a } = await rootCa({ onListenerError: (e) => reported.push(e) });
    const b = await generateRoot({ trustDomain: TD });
    const ran: string[] = [];
    ca.onTrustChange(() => { ran.push('throws'); throw new Error('disk full'); });
    ca.onTrustChange(async () => { ran.push('rejects'); throw new Error('api down'); });
    ca.onTrustChange(() => { ran.push('publisher'); });
    await ca.rotateSigner({ tlsCrt: b.certPem, tlsKey: b.keyPem }); // resolves: the switch happened
    await new Promise((r) => setImmediate(r)); // the rejected promise is reported on a later tick
    expect(ran).toEqual(['throws', 'rejects', 'publisher']);
    expect(reported.map((e) => (e as Error).message).sort()).toEqual(['api down', 'disk full']);
    expect(new X509Certificate(await leafOf(ca)).verify(new X509Certificate(b.certPem).publicKey)).toBe(true);
    expect(splitPemCertificates(ca.trustBundlePem()).sort()).toEqual([a.certPem, b.certPem].sort());
    ca.addTrustedRoot((await generateRoot({ trustDomain: TD })).certPem);
    ca.removeTrustedRoot(a.certPem);
    expect(ran.filter((r) => r === 'publisher')).toHaveLength(3);
  });

  test('rotating to the same signer again (material re-read) never pushes the real previous signer out', async () => {
    // Intermediates under their roots (cert-manager): a leaf of A verifies only through A's signer, not a root.
    const [rootA, rootB] = await Promise.all([makeCa('root a'), makeCa('root b')]);
    const [a, b] = await Promise.all([makeIntermediate(rootA), makeIntermediate(rootB)]);
    const both = rootA.certPem + rootB.certPem;
    const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: a.certPem, tlsKey: a.keyPem, caCrt: both } });
    const fromA = (await leafOf(ca)).split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n';
    await ca.rotateSigner({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: both });
    expect(ca.verifyWorkloadCertificate(fromA)).toEqual(ID);
    for (let i = 0; i < 5; i++) await ca.rotateSigner({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: both });
    // A's leaves are still renewable by certificate: A is remembered (only four previous signers are kept).
    expect(ca.verifyWorkloadCertificate(fromA)).toEqual(ID);
    // Back to A and forth to B again, five times over: still one entry each.
    for (let i = 0; i < 5; i++) {
      await ca.rotateSigner({ tlsCrt: a.certPem, tlsKey: a.keyPem, caCrt: both });
      await ca.rotateSigner({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: both });
    }
    expect(ca.verifyWorkloadCertificate(fromA)).toEqual(ID);
  });

  test('updateRoots: same signer, roots exactly as ca.crt lists them; no previous signer recorded; another signer refused', async () => {
    const { ca, root: a } = await rootCa();
    const b = await generateRoot({ trustDomain: TD });
    const c = await generateRoot({ trustDomain: TD });
    await ca.rotateSigner({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: a.certPem + b.certPem });
    const fromA = await (async () => {
      const old = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: a.certPem, tlsKey: a.keyPem } });
      return leafOf(old);
    })();
    let changes = 0;
    ca.onTrustChange(() => void changes++);
    for (let i = 0; i < 5; i++) await ca.updateRoots({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: a.certPem + b.certPem + (i % 2 ? c.certPem : '') });
    expect(changes).toBe(5);
    expect(ca.verifyWorkloadCertificate(fromA)).toEqual(ID); // A still a previous signer
    await ca.updateRoots({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: b.certPem }); // step 3: drop A
    expect(splitPemCertificates(ca.trustBundlePem())).toEqual([b.certPem]);
    expect(() => ca.verifyWorkloadCertificate(fromA)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CA_CERT_UNTRUSTED' }));
    expect(await codeOf(ca.updateRoots({ tlsCrt: c.certPem, tlsKey: c.keyPem }))).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    expect(await codeOf(ca.updateRoots({ tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: c.certPem }))).toBe('WEFT_ERR_CA_BAD_MATERIAL'); // B no longer anchored
    expect(splitPemCertificates(ca.trustBundlePem())).toEqual([b.certPem]);
  });

  test('unit check of verifyWorkloadCertificate with an injected clock: a leaf past its notAfter on the CA\'s clock is CERT_EXPIRED', async () => {
    // Over TLS a really expired client certificate never reaches this check (OpenSSL rejects it by the
    // real clock and grpc-js exposes no peer certificate: CERT_UNTRUSTED, see test/proxy/identity/ca-tls.int.test.ts).
    // CERT_EXPIRED is what the CA says when its own clock is past the leaf's notAfter while the TLS layer's is not.
    let now = Date.now();
    const { ca } = await rootCa({ now: () => now, certificateTtlMs: 3600_000 });
    const leaf = await leafOf(ca);
    expect(ca.verifyWorkloadCertificate(leaf)).toEqual(ID);
    now = Date.parse(new X509Certificate(leaf).validTo) + 1000;
    expect(() => ca.verifyWorkloadCertificate(leaf)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CA_CERT_EXPIRED' }));
  });
});
