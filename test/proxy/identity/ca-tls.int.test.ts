/**
 * The CA endpoint over real TLS: a proxy verifies it against its trust anchor before sending its
 * token, and renews by presenting its current certificate (mTLS), so a spent bootstrap token does
 * not cost it its identity; expired and foreign-CA certificates are refused with their codes; a CA
 * endpoint that chains to the anchor and names the host but is not the control plane gets nothing.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapTokenAuthenticator, type Authenticator } from '../../../control-plane/ca/authn';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { generateRoot } from '../../../control-plane/ca/pki';
import { CA_PROTO_PATH, caServerCredentials, startCaServer, type CaServer } from '../../../control-plane/ca/service';
import { CaClientIdentityProvider, caClientFromBootstrap, type CaClientProps } from '../../../proxy/identity/ca-client';
import { generateKeyAndCsr } from '../../../proxy/identity/csr';
import { makeCa, makeIntermediate } from '../../support/certs';
import { TD, idOf } from './harness';

const HOUR = 3600_000;
const CP_ID = `spiffe://${TD}/ns/weft-system/sa/weft-control-plane`;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A CA served over TLS (serving cert it issues itself, for 127.0.0.1) with renewal by certificate. */
async function tlsCa(now?: () => number) {
  const root = await generateRoot({ trustDomain: TD });
  const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: root.certPem, tlsKey: root.keyPem }, certificateTtlMs: HOUR, now });
  const tokens = new BootstrapTokenAuthenticator();
  const refused: string[] = [];
  const server: CaServer = await startCaServer(ca, {
    authenticator: tokens,
    credentials: caServerCredentials(ca, { ipAddresses: ['127.0.0.1'], spiffeId: `spiffe://${TD}/ns/weft-system/sa/weft-control-plane` }),
    certificateAuthentication: true,
    onRefused: (code) => refused.push(code),
  });
  closers.push(() => server.close());
  const dir = mkdtempSync(join(tmpdir(), 'weft-ca-tls-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  const anchorFile = join(dir, 'root-cert.pem');
  writeFileSync(anchorFile, ca.trustBundlePem());
  return { ca, root, tokens, server, refused, anchorFile, dir };
}

function client(env: Awaited<ReturnType<typeof tlsCa>>, props: Partial<CaClientProps>) {
  const c = new CaClientIdentityProvider({ address: env.server.address, trustDomain: TD, minRetryMs: 20, maxRetryMs: 100, requestTimeoutMs: 10_000, ...props } as CaClientProps);
  closers.push(() => c.close());
  return c;
}

/** One raw IssueCertificate call presenting `clientCert` (PEM key + chain) with an empty credential. */
async function rawIssue(address: string, anchorPem: string, clientCert: { keyPem: string; certChainPem: string }): Promise<string> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(CA_PROTO_PATH, { keepCase: true, longs: Number, defaults: true })) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const stub = new pkg.weft.ca.v1.CertificateAuthority(address, grpc.credentials.createSsl(Buffer.from(anchorPem), Buffer.from(clientCert.keyPem), Buffer.from(clientCert.certChainPem)));
  const { csrPem } = await generateKeyAndCsr();
  try {
    return await new Promise<string>((resolve) => {
      stub.IssueCertificate({ csr_pem: csrPem, credential: '' }, { deadline: new Date(Date.now() + 5000) }, (err: grpc.ServiceError | null) => {
        resolve(err ? String(err.metadata?.get('weft-error')[0] ?? `grpc ${err.code}`) : 'issued');
      });
    });
  } finally {
    stub.close();
  }
}

test('with the right anchor a proxy gets a certificate; with a wrong anchor it refuses the CA before sending its token', async () => {
  const env = await tlsCa();
  const good = client(env, { credential: env.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' }), trustAnchor: { file: env.anchorFile } });
  expect((await good.renewNow()).spiffeId).toBe(idOf('shop', 'cart'));

  const stranger = await generateRoot({ trustDomain: TD });
  const token = env.tokens.mint({ namespace: 'shop', serviceAccount: 'web' });
  const before = env.tokens.outstanding;
  const bad = client(env, { credential: token, trustAnchor: { pem: stranger.certPem }, requestTimeoutMs: 5_000 });
  await expect(bad.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_IDENTITY_CA_UNTRUSTED' });
  expect(env.tokens.outstanding).toBe(before); // the token never reached the CA
  expect(bad.current()).toBeUndefined();

  // An unreadable anchor is a coded failure too, not a silent fallback to plaintext.
  const none = client(env, { credential: 'x', trustAnchor: { file: join(env.dir, 'missing.pem') } });
  await expect(none.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_TLS_NO_IDENTITY' });
});

test('renewal by the current certificate works after the one-time token is spent; without it the spent token is refused', async () => {
  const env = await tlsCa();
  const token = env.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' });
  // The credential is always the (spent after first use) bootstrap token: as if every renewal answer had been lost.
  const byCert = client(env, { credential: token, trustAnchor: { file: env.anchorFile }, renewWithCertificate: true });
  const first = await byCert.renewNow();
  expect(env.tokens.outstanding).toBe(1); // bootstrap token spent, one renewal token minted
  const second = await byCert.renewNow();
  const third = await byCert.renewNow();
  expect(second.spiffeId).toBe(idOf('shop', 'cart'));
  expect(third.certChainPem).not.toBe(second.certChainPem);
  expect(third.keyPem).not.toBe(first.keyPem); // a fresh key every time
  expect(env.tokens.outstanding).toBe(1); // no token used by the renewals
  expect(env.refused).toEqual([]);

  // The same token without renewal by certificate: spent, refused.
  const tokenOnly = client(env, { credential: token, trustAnchor: { file: env.anchorFile } });
  await expect(tokenOnly.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_UNAUTHENTICATED' });
});

test('a really expired certificate or one from another CA is refused for renewal over TLS: both are CERT_UNTRUSTED', async () => {
  let now = Date.now();
  const env = await tlsCa(() => now);
  const p = client(env, { credential: env.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' }), trustAnchor: { file: env.anchorFile } });
  const held = await p.renewNow();
  expect(await rawIssue(env.server.address, env.ca.trustBundlePem(), held)).toBe('issued');

  // Another CA of the same trust domain: its certificate proves nothing here.
  const other = await generateRoot({ trustDomain: TD });
  const otherCa = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: other.certPem, tlsKey: other.keyPem } });
  const { keyPem, csrPem } = await generateKeyAndCsr();
  const foreign = await otherCa.issue(csrPem, { namespace: 'shop', serviceAccount: 'cart' });
  expect(await rawIssue(env.server.address, env.ca.trustBundlePem(), { keyPem, certChainPem: foreign.certChainPem })).toBe('WEFT_ERR_CA_CERT_UNTRUSTED');

  // A leaf of this very CA that expired an hour ago by the real clock. OpenSSL judges the client
  // certificate at the handshake (real time) and grpc-js then exposes no peer certificate, so the CA
  // never sees it: the refusal is CERT_UNTRUSTED, not CERT_EXPIRED (that one is only reachable when
  // the CA's clock runs ahead of the TLS layer's; see verifyWorkloadCertificate in authority.test.ts).
  const old = await generateKeyAndCsr();
  now = Date.now() - 3 * HOUR; // issued three hours ago for one hour
  const expired = await env.ca.issue(old.csrPem, { namespace: 'shop', serviceAccount: 'cart' });
  now = Date.now();
  expect(expired.notAfter.getTime()).toBeLessThan(now - HOUR);
  expect(await rawIssue(env.server.address, env.ca.trustBundlePem(), { keyPem: old.keyPem, certChainPem: expired.certChainPem })).toBe('WEFT_ERR_CA_CERT_UNTRUSTED');
  expect(env.refused).toEqual(['WEFT_ERR_CA_CERT_UNTRUSTED', 'WEFT_ERR_CA_CERT_UNTRUSTED']);
});

test('a CA that does not authenticate by certificate refuses an empty credential even with a valid client certificate', async () => {
  const env = await tlsCa();
  const p = client(env, { credential: env.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' }), trustAnchor: { file: env.anchorFile } });
  const held = await p.renewNow();
  const strict = await startCaServer(env.ca, { authenticator: env.tokens, credentials: caServerCredentials(env.ca, { ipAddresses: ['127.0.0.1'] }) });
  closers.push(() => strict.close());
  expect(await rawIssue(strict.address, env.ca.trustBundlePem(), held)).toBe('WEFT_ERR_CA_UNAUTHENTICATED');
});

test('bring your own CA (intermediate under a corporate root): the CA endpoint and renewals by certificate chain through the intermediate', async () => {
  const corp = await makeCa('corp root');
  const inter = await makeIntermediate(corp);
  const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: inter.certPem, tlsKey: inter.keyPem, caCrt: corp.certPem } });
  const tokens = new BootstrapTokenAuthenticator();
  const server = await startCaServer(ca, { authenticator: tokens, credentials: caServerCredentials(ca, { ipAddresses: ['127.0.0.1'], spiffeId: CP_ID }), certificateAuthentication: true });
  closers.push(() => server.close());
  const p = new CaClientIdentityProvider({ address: server.address, trustDomain: TD, credential: tokens.mint({ namespace: 'shop', serviceAccount: 'cart' }), trustAnchor: { pem: corp.certPem }, renewWithCertificate: true, requestTimeoutMs: 10_000 });
  closers.push(() => p.close());
  const first = await p.renewNow();
  expect(first.certChainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  const outstanding = tokens.outstanding;
  const renewed = await p.renewNow();
  expect(renewed.spiffeId).toBe(idOf('shop', 'cart'));
  expect(tokens.outstanding).toBe(outstanding); // renewed by certificate, no token used
});

/** A CA endpoint serving `names`' certificate, recording every credential that reaches it. */
async function recordingCa(ca: CertificateAuthority, names: { ipAddresses?: string[]; spiffeId?: string }, serving?: { certChainPem: string; keyPem: string }) {
  const tokens = new BootstrapTokenAuthenticator();
  const seen: string[] = [];
  const authenticator: Authenticator = { authenticate: (credential, ctx) => (seen.push(credential), tokens.authenticate(credential, ctx)) };
  const credentials = serving
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certChainPem), private_key: Buffer.from(serving.keyPem) }], false)
    : caServerCredentials(ca, names);
  const server = await startCaServer(ca, { authenticator, credentials });
  closers.push(() => server.close());
  return { server, tokens, seen };
}

test('a CA endpoint that chains to the anchor and names the host dialed but is not the control plane never receives the token', async () => {
  // The anchor is a corporate root (bring your own CA): anything it issued chains to it.
  const corp = await makeCa('corp root');
  const inter = await makeIntermediate(corp);
  const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: inter.certPem, tlsKey: inter.keyPem, caCrt: corp.certPem } });
  const anchor = { pem: corp.certPem };
  const refusedBy = async (env: Awaited<ReturnType<typeof recordingCa>>, extra: Partial<CaClientProps> = {}) => {
    const p = new CaClientIdentityProvider({ address: env.server.address, trustDomain: TD, credential: env.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' }), trustAnchor: anchor, requestTimeoutMs: 5_000, ...extra });
    closers.push(() => p.close());
    return p.renewNow().then(() => 'issued', (e: { code: string }) => e.code);
  };

  // Another server certificate of the same root, for 127.0.0.1, with no SPIFFE ID (a plain corporate TLS certificate).
  const ipLeaf = ca.issueServingCertificate({ ipAddresses: ['127.0.0.1'] });
  const plain = await recordingCa(ca, {}, ipLeaf);
  expect(await refusedBy(plain)).toBe('WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY');
  expect(plain.seen).toEqual([]);

  // A workload identity of the mesh, for 127.0.0.1: chains and names the host, but is not the control plane.
  const impostor = await recordingCa(ca, { ipAddresses: ['127.0.0.1'], spiffeId: `spiffe://${TD}/ns/shop/sa/weft-control-plane-not` });
  expect(await refusedBy(impostor)).toBe('WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY');
  expect(impostor.seen).toEqual([]);

  // The control plane's account in another trust domain is not it either.
  const foreignTd = await recordingCa(ca, { ipAddresses: ['127.0.0.1'], spiffeId: 'spiffe://other.local/ns/weft-system/sa/weft-control-plane' });
  expect(await refusedBy(foreignTd)).toBe('WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY');
  expect(foreignTd.seen).toEqual([]);

  // The bootstrap's xdsIdentity pins the namespace too: weft-control-plane of another namespace is refused.
  const otherNs = await recordingCa(ca, { ipAddresses: ['127.0.0.1'], spiffeId: `spiffe://${TD}/ns/elsewhere/sa/weft-control-plane` });
  const fromBootstrap = caClientFromBootstrap(
    { controlPlane: { xds: otherNs.server.address, xdsIdentity: CP_ID }, identity: { trustDomain: TD, caTrustAnchorPem: corp.certPem, tokenPath: '/nonexistent' } },
    { credential: otherNs.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' }), requestTimeoutMs: 5_000 },
  );
  closers.push(() => fromBootstrap.close());
  await expect(fromBootstrap.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY' });
  expect(otherNs.seen).toEqual([]);
  // ...which is the right one without the pin (any namespace's weft-control-plane of the trust domain).
  expect(await refusedBy(otherNs)).toBe('issued');
  expect(otherNs.seen).toHaveLength(1);

  // The control plane itself gets the token.
  const real = await recordingCa(ca, { ipAddresses: ['127.0.0.1'], spiffeId: CP_ID });
  expect(await refusedBy(real, { expectedCaIdentity: CP_ID })).toBe('issued');
  expect(real.seen).toHaveLength(1);
}, 120_000); // four refusals, each bounded by its request deadline (5 s) on a busy machine
