/**
 * The CA as `weft control-plane` / `weft up` start it (control-plane/main-ca.ts): TLS by default with
 * a serving certificate it issues itself, the bundle written for the sidecars, and CA material that
 * is re-read so a cert-manager renewal takes effect without a restart.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRoot, splitPemCertificates } from '../../../control-plane/ca/pki';
import { writeCaDirectory } from '../../../control-plane/ca/material';
import { RunningCa, caServingNames, startCa } from '../../../control-plane/main-ca';
import { CaClientIdentityProvider } from '../../../proxy/identity/ca-client';
import type { BootstrapTokenAuthenticator } from '../../../control-plane/ca/authn';
import { generateKeyAndCsr } from '../../../proxy/identity/csr';
import { makeCa, makeIntermediate } from '../../support/certs';

const TD = 'shop.local';
const mesh = { trustDomain: TD, certificateTtlMs: 3600_000 } as never;
let dir: string;
let running: RunningCa | undefined;
const closers: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-main-ca-'));
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await running?.close();
  running = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const fingerprints = (pem: string) => splitPemCertificates(pem).map((p) => new X509Certificate(p).fingerprint256);
const start = (extra: Partial<Parameters<typeof startCa>[0]> = {}) =>
  startCa({ source: 'local', port: 0, host: '127.0.0.1', mesh, stateDir: dir, secretNamespace: 'weft-system', secretName: 'weft-ca', log: () => undefined, ...extra });

function proxy(r: RunningCa, anchorFile: string, sa: string) {
  const c = new CaClientIdentityProvider({
    address: r.server.address, trustDomain: TD, credential: (r.authenticator as BootstrapTokenAuthenticator).mint({ namespace: 'shop', serviceAccount: sa }),
    trustAnchor: { file: anchorFile }, renewWithCertificate: true, minRetryMs: 20, maxRetryMs: 100, requestTimeoutMs: 20_000,
  });
  closers.push(() => c.close());
  return c;
}

test('serves TLS with a certificate naming the control plane; the bundle is written for the sidecars', async () => {
  running = await start();
  expect(running.tls).toBe(true);
  const names = caServingNames({ source: 'local', host: '127.0.0.1', secretNamespace: 'weft-system', mesh });
  expect(names).toEqual({ spiffeId: `spiffe://${TD}/ns/weft-system/sa/weft-control-plane`, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  expect(caServingNames({ source: 'kubernetes', host: '0.0.0.0', secretNamespace: 'mesh-system', mesh }).dnsNames).toEqual([
    'weft-control-plane', 'weft-control-plane.mesh-system', 'weft-control-plane.mesh-system.svc', 'weft-control-plane.mesh-system.svc.cluster.local',
  ]);
  const anchor = join(dir, 'ca-root.pem');
  expect(running.trustAnchorFile).toBe(anchor);
  expect(fingerprints(readFileSync(anchor, 'utf8'))).toEqual(fingerprints(running.ca.trustBundlePem()));
  const m = await proxy(running, anchor, 'cart').renewNow();
  expect(m.spiffeId).toBe(`spiffe://${TD}/ns/shop/sa/cart`);
});

test('--ca-insecure serves plaintext (testing only)', async () => {
  running = await start({ insecure: true });
  expect(running.tls).toBe(false);
  const c = new CaClientIdentityProvider({ address: running.server.address, trustDomain: TD, credential: (running.authenticator as BootstrapTokenAuthenticator).mint({ namespace: 'shop', serviceAccount: 'cart' }), requestTimeoutMs: 20_000 });
  closers.push(() => c.close());
  expect((await c.renewNow()).spiffeId).toBe(`spiffe://${TD}/ns/shop/sa/cart`);
});

test('replaced CA files are picked up without a restart: new leaves chain to the new root, the old root stays trusted', async () => {
  running = await start({ materialWatchMs: 25 });
  const anchor = running.trustAnchorFile!;
  const oldRoot = running.ca.trustBundlePem();
  const p = proxy(running, anchor, 'cart');
  const before = await p.renewNow();

  // cert-manager renews the Secret: the mounted files change in place.
  const next = await generateRoot({ trustDomain: TD });
  const changed = new Promise<void>((r) => running!.ca.onTrustChange(r));
  writeCaDirectory(join(dir, 'ca'), { tlsCrt: next.certPem, tlsKey: next.keyPem, caCrt: next.certPem });
  await changed;

  const bundle = fingerprints(running.ca.trustBundlePem());
  expect(bundle).toEqual(expect.arrayContaining([...fingerprints(oldRoot), ...fingerprints(next.certPem)]));
  expect(fingerprints(readFileSync(anchor, 'utf8')).sort()).toEqual([...bundle].sort()); // sidecars see both roots
  // The renewal (by the certificate the old root signed) gets a leaf of the new root.
  const after = await p.renewNow();
  const leaf = new X509Certificate(after.certChainPem);
  expect(leaf.verify(new X509Certificate(next.certPem).publicKey)).toBe(true);
  expect(leaf.verify(new X509Certificate(oldRoot).publicKey)).toBe(false);
  expect(fingerprints(after.trustBundlePem)).toEqual(expect.arrayContaining(fingerprints(oldRoot)));
  expect(before.spiffeId).toBe(after.spiffeId);
  // The CA endpoint itself now serves a certificate of the new root: a sidecar that only knows the new root reaches it.
  const onlyNew = join(dir, 'only-new.pem');
  writeFileSync(onlyNew, next.certPem);
  expect((await proxy(running, onlyNew, 'web').renewNow()).spiffeId).toBe(`spiffe://${TD}/ns/shop/sa/web`);
});

test('the three rotation steps through the mounted files: trust both, sign with the new one, drop the old root', async () => {
  running = await start({ materialWatchMs: 25 });
  const r = running;
  const dirCa = join(dir, 'ca');
  const old = { crt: readFileSync(join(dirCa, 'tls.crt'), 'utf8'), key: readFileSync(join(dirCa, 'tls.key'), 'utf8') };
  const next = await generateRoot({ trustDomain: TD });
  const [fOld, fNew] = [fingerprints(old.crt)[0], fingerprints(next.certPem)[0]];
  const until = (want: string[]) => new Promise<void>((resolve) => {
    const check = () => { if ([...fingerprints(r.ca.trustBundlePem())].sort().join() === [...want].sort().join()) { off(); resolve(); } };
    const off = r.ca.onTrustChange(check);
    check();
  });
  writeCaDirectory(dirCa, { tlsCrt: old.crt, tlsKey: old.key, caCrt: old.crt + next.certPem }); // 1: trust both
  await until([fOld, fNew]);
  writeCaDirectory(dirCa, { tlsCrt: next.certPem, tlsKey: next.keyPem, caCrt: old.crt + next.certPem }); // 2: sign with the new root
  const p = proxy(r, r.trustAnchorFile!, 'cart');
  await new Promise<void>((resolve) => {
    const off = r.ca.onTrustChange(() => { off(); resolve(); });
  });
  const leaf = new X509Certificate((await p.renewNow()).certChainPem);
  expect(leaf.verify(new X509Certificate(next.certPem).publicKey)).toBe(true);
  writeCaDirectory(dirCa, { tlsCrt: next.certPem, tlsKey: next.keyPem, caCrt: next.certPem }); // 3: drop the old root
  await until([fNew]);
  expect(fingerprints(readFileSync(r.trustAnchorFile!, 'utf8'))).toEqual([fNew]);
});

test('unreadable replacement material keeps the current signer and is reported', async () => {
  let reportedCode!: (code: string) => void;
  const reported = new Promise<string>((r) => (reportedCode = r));
  running = await start({ materialWatchMs: 25, log: (level, _msg, fields) => { if (level === 'error') reportedCode(String(fields?.code)); } });
  const root = running.ca.trustBundlePem();
  const [other, stranger] = await Promise.all([generateRoot({ trustDomain: TD }), generateRoot({ trustDomain: TD })]);
  // tls.key of another root: inconsistent material.
  writeCaDirectory(join(dir, 'ca'), { tlsCrt: other.certPem, tlsKey: stranger.keyPem });
  expect(await reported).toBe('WEFT_ERR_CA_BAD_MATERIAL');
  expect(running.ca.trustBundlePem()).toBe(root);
});

/** Log lines as they come, and a promise for the next one matching `re` (bounded, so a missing line fails the test with a message). */
function logRecorder() {
  const lines: { level: string; msg: string; code?: string }[] = [];
  const waiters: { re: RegExp; n: number; resolve: () => void }[] = [];
  const count = (re: RegExp) => lines.filter((l) => re.test(l.msg)).length;
  const log = (level: string, msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, code: fields?.code as string | undefined });
    for (const w of [...waiters]) if (count(w.re) >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  };
  const seen = (re: RegExp, n = count(re) + 1) => new Promise<void>((resolve, reject) => {
    if (count(re) >= n) return resolve();
    const t = setTimeout(() => reject(new Error(`log line ${re} (#${n}) never came; log: ${lines.map((l) => l.msg).join(' | ')}`)), 8000);
    waiters.push({ re, n, resolve: () => { clearTimeout(t); resolve(); } });
  });
  return { lines, log, count, seen };
}


const MATERIAL_CHANGED = /^CA material changed/;
const ROOTS_CHANGED = /^CA roots changed/;
const KEPT = /keeping the current signer/;

test('a trust-bundle file that cannot be written is logged; the rotation completes once, the other listeners run, the next change is processed', async () => {
  const rec = logRecorder();
  running = await start({ materialWatchMs: 25, log: rec.log });
  const r = running;
  const dirCa = join(dir, 'ca');
  const old = { crt: readFileSync(join(dirCa, 'tls.crt'), 'utf8'), key: readFileSync(join(dirCa, 'tls.key'), 'utf8') };
  const xdsDir = join(dir, 'xds-tls');
  r.writeServingCertificate(xdsDir); // registered after the trust-bundle writer
  // <stateDir>/ca-root.pem can no longer be replaced (a directory sits where the file was).
  rmSync(r.trustAnchorFile!);
  mkdirSync(r.trustAnchorFile!);

  const [next, extra] = await Promise.all([generateRoot({ trustDomain: TD }), generateRoot({ trustDomain: TD })]);
  writeCaDirectory(dirCa, { tlsCrt: next.certPem, tlsKey: next.keyPem, caCrt: old.crt + next.certPem }); // step 2
  await rec.seen(MATERIAL_CHANGED);
  // The xDS serving certificate (a later listener) was rewritten under the new signer.
  const served = new X509Certificate(readFileSync(join(xdsDir, 'tls.crt'), 'utf8'));
  expect(served.verify(new X509Certificate(next.certPem).publicKey)).toBe(true);

  writeCaDirectory(dirCa, { tlsCrt: next.certPem, tlsKey: next.keyPem, caCrt: old.crt + next.certPem + extra.certPem }); // a root added
  await rec.seen(ROOTS_CHANGED); // the watch moved on: the first change was recorded as done
  expect(rec.count(MATERIAL_CHANGED)).toBe(1); // not repeated at every pass
  expect(rec.count(KEPT)).toBe(0); // the signer did switch: nothing claims otherwise
  expect(rec.lines.filter((l) => l.code === 'WEFT_ERR_CA_TRUST_ANCHOR_WRITE')).toHaveLength(2); // one per change, logged
  expect(fingerprints(readFileSync(join(xdsDir, 'ca.crt'), 'utf8'))).toEqual(expect.arrayContaining(fingerprints(extra.certPem)));
  expect(fingerprints(r.ca.trustBundlePem()).sort()).toEqual(fingerprints(old.crt + next.certPem + extra.certPem).sort());
});

test('ca.crt-only changes do not rotate the signer: a leaf of the previous intermediate still renews by certificate after many of them', async () => {
  const [rootA, rootB, rootC] = await Promise.all([makeCa('root a'), makeCa('root b'), makeCa('root c')]);
  const [a, b] = await Promise.all([makeIntermediate(rootA), makeIntermediate(rootB)]);
  const dirCa = join(dir, 'ca');
  const both = rootA.certPem + rootB.certPem;
  writeCaDirectory(dirCa, { tlsCrt: a.certPem, tlsKey: a.keyPem, caCrt: both }); // cert-manager's Secret, before the start
  const rec = logRecorder();
  running = await start({ materialWatchMs: 25, log: rec.log });
  const r = running;
  const p = proxy(r, r.trustAnchorFile!, 'cart');
  const held = await p.renewNow(); // a leaf of intermediate A
  const { csrPem } = await generateKeyAndCsr();
  const fromA = (await r.ca.issue(csrPem, { namespace: 'shop', serviceAccount: 'web' })).certChainPem;

  writeCaDirectory(dirCa, { tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: both }); // sign with B
  await rec.seen(MATERIAL_CHANGED);
  for (let i = 0; i < 6; i++) {
    writeCaDirectory(dirCa, { tlsCrt: b.certPem, tlsKey: b.keyPem, caCrt: both + (i % 2 === 0 ? rootC.certPem : '') });
    await rec.seen(ROOTS_CHANGED, i + 1);
  }
  expect(rec.count(MATERIAL_CHANGED)).toBe(1);
  expect(r.ca.verifyWorkloadCertificate(fromA)).toEqual({ namespace: 'shop', serviceAccount: 'web' });
  // Over TLS: the proxy presents its leaf of A and gets one of B, with no refusal on the way.
  const renewed = await p.renewNow();
  expect(renewed.certChainPem).not.toBe(held.certChainPem);
  expect(new X509Certificate(renewed.certChainPem).checkIssued(new X509Certificate(b.certPem))).toBe(true);
  expect(rec.lines.filter((l) => l.code === 'WEFT_ERR_CA_CERT_UNTRUSTED')).toEqual([]);
});
