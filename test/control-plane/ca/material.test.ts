import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { caMaterialFromSecret, caMaterialToSecret, loadCaFromDirectory, loadOrCreateLocalCa } from '../../../control-plane/ca/material';
import { makeCa } from '../../support/certs';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'weft-ca-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a local CA is generated once (ECDSA P-256), persisted owner-only, and reused', async () => {
  const state = join(dir, 'state', 'ca');
  const first = await loadOrCreateLocalCa(state, 'shop.local');
  expect(first.created).toBe(true);
  for (const f of ['tls.crt', 'tls.key', 'ca.crt']) expect(statSync(join(state, f)).mode & 0o777).toBe(0o600);
  expect(statSync(state).mode & 0o777).toBe(0o700);
  const cert = new X509Certificate(first.material.tlsCrt);
  expect(cert.ca).toBe(true);
  expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  const again = await loadOrCreateLocalCa(state, 'shop.local');
  expect(again.created).toBe(false);
  expect(again.material.tlsCrt).toBe(first.material.tlsCrt);
  expect(again.material.tlsKey).toBe(first.material.tlsKey);
  const ca = await CertificateAuthority.create({ trustDomain: 'shop.local', material: again.material });
  expect(ca.trustBundlePem()).toBe(first.material.tlsCrt);
});

test('a mounted cert-manager Secret directory is read as-is; ca.crt is optional; missing tls.key is a coded error', async () => {
  const root = await makeCa('byo');
  mkdirSync(join(dir, 'byo'));
  writeFileSync(join(dir, 'byo', 'tls.crt'), root.certPem);
  writeFileSync(join(dir, 'byo', 'tls.key'), root.keyPem);
  const m = loadCaFromDirectory(join(dir, 'byo'));
  expect(m).toEqual({ tlsCrt: root.certPem, tlsKey: root.keyPem, caCrt: undefined });
  await expect(CertificateAuthority.create({ trustDomain: 't.local', material: m })).resolves.toBeDefined();
  rmSync(join(dir, 'byo', 'tls.key'));
  expect(() => loadCaFromDirectory(join(dir, 'byo'))).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CA_BAD_MATERIAL' }));
});

test('Secret encoding round-trips in cert-manager\'s layout', async () => {
  const root = await makeCa('s');
  const s = caMaterialToSecret('weft-system', 'weft-ca', { tlsCrt: root.certPem, tlsKey: root.keyPem, caCrt: root.certPem });
  expect(s.type).toBe('kubernetes.io/tls');
  expect(Object.keys(s.data!).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
  expect(Buffer.from(s.data!['tls.crt'], 'base64').toString()).toBe(root.certPem);
  expect(caMaterialFromSecret(s)).toEqual({ tlsCrt: root.certPem, tlsKey: root.keyPem, caCrt: root.certPem });
  expect(() => caMaterialFromSecret({ metadata: { name: 'x', namespace: 'y' }, data: { 'tls.crt': s.data!['tls.crt'] } })).toThrow(
    expect.objectContaining({ code: 'WEFT_ERR_CA_BAD_MATERIAL', message: expect.stringContaining('y/x lacks tls.key') }),
  );
});

test('setupCa (local source) builds a CA and a bootstrap-token authenticator over the persisted root', async () => {
  const { setupCa } = await import('../../../control-plane/ca');
  const a = await setupCa({ trustDomain: 'shop.local', source: { kind: 'local', dir: join(dir, 'ca') }, certificateTtlMs: 3600_000 });
  expect(a.created).toBe(true);
  expect(a.ca.certificateTtlMs).toBe(3600_000);
  const token = a.bootstrapTokens!.mint({ namespace: 'shop', serviceAccount: 'cart' });
  await expect(a.authenticator.authenticate(token, { certificateTtlMs: 1 })).resolves.toMatchObject({ identity: { namespace: 'shop', serviceAccount: 'cart' } });
  const b = await setupCa({ trustDomain: 'shop.local', source: { kind: 'local', dir: join(dir, 'ca') } });
  expect(b.created).toBe(false);
  expect(b.ca.trustBundlePem()).toBe(a.ca.trustBundlePem());
});

test('watchCaMaterial: a renewed Secret directory becomes the signer; the old root stays trusted; bad material keeps the current one', async () => {
  const { watchCaMaterial } = await import('../../../control-plane/ca/material');
  const { X509Certificate } = await import('node:crypto');
  const { generateKeyAndCsr } = await import('../../../proxy/identity/csr');
  const a = await makeCa('root a');
  const byo = join(dir, 'mounted');
  mkdirSync(byo);
  writeFileSync(join(byo, 'tls.crt'), a.certPem);
  writeFileSync(join(byo, 'tls.key'), a.keyPem);
  const initial = loadCaFromDirectory(byo);
  const ca = await CertificateAuthority.create({ trustDomain: 't.local', material: initial });
  const errors: string[] = [];
  let changed!: () => void;
  let failed!: () => void;
  const watch = watchCaMaterial(() => loadCaFromDirectory(byo), async (m) => { await ca.rotateSigner(m); changed(); }, {
    intervalMs: 20, initial, onError: (e) => { errors.push((e as { code: string }).code); failed(); },
  });
  try {
    const bad = new Promise<void>((r) => (failed = r));
    writeFileSync(join(byo, 'tls.crt'), 'garbage');
    await bad;
    expect(errors[0]).toBe('WEFT_ERR_CA_BAD_MATERIAL');
    const b = await makeCa('root b');
    const rotated = new Promise<void>((r) => (changed = r));
    writeFileSync(join(byo, 'tls.key'), b.keyPem);
    writeFileSync(join(byo, 'tls.crt'), b.certPem);
    await rotated;
    const leaf = new X509Certificate((await ca.issue((await generateKeyAndCsr()).csrPem, { namespace: 'x', serviceAccount: 'y' })).certChainPem);
    expect(leaf.verify(new X509Certificate(b.certPem).publicKey)).toBe(true);
    expect(ca.trustBundlePem()).toContain(a.certPem.trim());
    expect(ca.trustBundlePem()).toContain(b.certPem.trim());
  } finally {
    watch.close();
  }
});
