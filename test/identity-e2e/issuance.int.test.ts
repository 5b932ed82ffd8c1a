/** End to end: real gRPC CA on 127.0.0.1:0, proxies that make their own keys and CSRs, and a real mTLS handshake with the result. */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { makeCa, makeIntermediate } from '../support/certs';
import { BootstrapTokenAuthenticator } from '../../control-plane/ca/authn';
import { CertificateAuthority } from '../../control-plane/ca/authority';
import { CaClientIdentityProvider } from '../../proxy/identity/ca-client';
import * as net from 'node:net';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { caServerCredentials, startCaServer } from '../../control-plane/ca/service';
import { generateRoot } from '../../control-plane/ca/pki';
import { TlsContexts } from '../../proxy/identity/tls';
import { WeftError } from '../../api/errors';
import { idOf, proxyIdentity, sayIdentity, startCa, startInbound, tlsTalk } from '../proxy/identity/harness';

let env: Awaited<ReturnType<typeof startCa>>;
const closers: (() => unknown)[] = [];
beforeAll(async () => {
  env = await startCa();
});
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});
afterAll(() => env.server.close());

test('a proxy gets a certificate with a bootstrap token and completes mTLS with another proxy', async () => {
  const cart = proxyIdentity(env, 'shop', 'cart');
  const web = proxyIdentity(env, 'shop', 'web');
  closers.push(() => cart.close(), () => web.close());
  const [cm, wm] = await Promise.all([cart.start(), web.start()]);
  expect(cm.spiffeId).toBe(idOf('shop', 'cart'));
  expect(wm.spiffeId).toBe(idOf('shop', 'web'));
  expect(new X509Certificate(cm.certChainPem).subjectAltName).toBe(`URI:${idOf('shop', 'cart')}`);
  expect(cm.trustBundlePem).toBe(env.root.certPem);
  expect(cart.secondsToExpiry()).toBeGreaterThan(23 * 3600);

  const server = await startInbound(new TlsContexts(cart), 'STRICT', sayIdentity);
  closers.push(() => server.close());
  const said = await tlsTalk(server.port, new TlsContexts(web).clientOptions({ identities: [idOf('shop', 'cart')] }));
  expect(said).toBe(`true ${idOf('shop', 'web')} h2\n`);
});

test('a used, unknown or wrong-identity request is refused over gRPC with the CA\'s code; the key stays with the proxy', async () => {
  const token = env.tokens.mint({ namespace: 'shop', serviceAccount: 'cart' });
  const errors: string[] = [];
  const first = proxyIdentity(env, 'x', 'y', { credential: token });
  closers.push(() => first.close());
  await first.start();
  const replay = proxyIdentity(env, 'x', 'y', { credential: token, onError: (e) => errors.push(e.code) });
  closers.push(() => replay.close());
  await expect(replay.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_UNAUTHENTICATED' });
  expect(replay.current()).toBeUndefined();

  const liar = proxyIdentity(env, 'shop', 'web', { spiffeId: idOf('kube-system', 'admin') });
  closers.push(() => liar.close());
  const err = await liar.renewNow().catch((e: WeftError) => e);
  expect(err).toMatchObject({ code: 'WEFT_ERR_CA_IDENTITY_MISMATCH' });
  expect(env.refused).toEqual(expect.arrayContaining(['WEFT_ERR_CA_UNAUTHENTICATED', 'WEFT_ERR_CA_IDENTITY_MISMATCH']));
  expect(errors).toContain('WEFT_ERR_CA_UNAUTHENTICATED');
});

test('renewals chain one-time renewal tokens: the bootstrap token is spent, yet the proxy keeps renewing', async () => {
  const p = proxyIdentity(env, 'shop', 'cart');
  closers.push(() => p.close());
  const a = await p.start();
  const b = await p.renewNow();
  const c = await p.renewNow();
  expect(new Set([a.certChainPem, b.certChainPem, c.certChainPem]).size).toBe(3);
  expect(new Set([a.keyPem, b.keyPem, c.keyPem]).size).toBe(3); // a fresh key each time
  expect(p.current()).toBe(c);
  expect(p.stats()).toMatchObject({ issued: 3, failures: 0 });
});

test('a CA that is down at boot: no identity (mTLS fails closed), retries with backoff, then the first certificate once it is up', async () => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  const errs: string[] = [];
  // Short channel reconnect backoff: grpc-js would otherwise wait up to its own 1 s → 120 s
  // backoff before dialing the CA again, which makes the test slow on a loaded machine.
  const p = proxyIdentity(env, 'shop', 'cart', {
    address: `127.0.0.1:${port}`, requestTimeoutMs: 300, onError: (e) => errs.push(e.code),
    channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 },
  });
  closers.push(() => p.close());
  const ready = p.start();
  while (errs.length < 2) await new Promise((r) => setTimeout(r, 10)); // two failed attempts observed
  expect(errs.every((c) => c === 'WEFT_ERR_CA_UNAVAILABLE')).toBe(true);
  expect(p.current()).toBeUndefined();
  expect(() => new TlsContexts(p).material()).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TLS_NO_IDENTITY' }));
  const late = await startCaServer(env.ca, { authenticator: env.tokens, port });
  closers.push(() => late.close());
  const m = await ready;
  expect(m.spiffeId).toBe(idOf('shop', 'cart'));
  expect(p.stats().failures).toBeGreaterThanOrEqual(2);
}, 60_000);

test('the CA endpoint over TLS: a proxy that trusts the mesh root gets a certificate; one that does not cannot even send its token', async () => {
  const tlsServer = await startCaServer(env.ca, { authenticator: env.tokens, credentials: caServerCredentials(env.ca, { dnsNames: ['weft-ca.weft-system.svc'], ipAddresses: ['127.0.0.1', '::1'] }) });
  closers.push(() => tlsServer.close());
  const served = env.ca.issueServingCertificate({ dnsNames: ['weft-ca.weft-system.svc'], ipAddresses: ['127.0.0.1', '::1'] });
  expect(new X509Certificate(served.certChainPem).subjectAltName).toBe('DNS:weft-ca.weft-system.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  const good = proxyIdentity(env, 'shop', 'cart', {
    address: tlsServer.address,
    channelCredentials: grpc.credentials.createSsl(Buffer.from(env.ca.trustBundlePem())),
    channelOptions: { 'grpc.ssl_target_name_override': 'weft-ca.weft-system.svc' },
  });
  closers.push(() => good.close());
  expect((await good.renewNow()).spiffeId).toBe(idOf('shop', 'cart'));
  const stranger = await generateRoot({ trustDomain: 'shop.local' });
  const bad = proxyIdentity(env, 'shop', 'web', {
    address: tlsServer.address,
    channelCredentials: grpc.credentials.createSsl(Buffer.from(stranger.certPem)),
    channelOptions: { 'grpc.ssl_target_name_override': 'weft-ca.weft-system.svc' },
    requestTimeoutMs: 20_000, // generous: the TLS handshake fails at once; the bound only stops a hung test
  });
  closers.push(() => bad.close());
  const before = env.tokens.outstanding;
  await expect(bad.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_UNAVAILABLE' });
  expect(env.tokens.outstanding).toBe(before); // the token was never presented
});

test('bring your own CA: an intermediate (cert-manager tls.crt) under a corporate root (ca.crt) — proxies get chains and complete mTLS', async () => {
  const corp = await makeCa('corp root');
  const inter = await makeIntermediate(corp);
  const ca = await CertificateAuthority.create({ trustDomain: 'shop.local', material: { tlsCrt: inter.certPem, tlsKey: inter.keyPem, caCrt: corp.certPem } });
  const tokens = new BootstrapTokenAuthenticator();
  const server = await startCaServer(ca, { authenticator: tokens });
  closers.push(() => server.close());
  const mk = (sa: string) => new CaClientIdentityProvider({ address: server.address, trustDomain: 'shop.local', credential: tokens.mint({ namespace: 'shop', serviceAccount: sa }) });
  const cart = mk('cart');
  const web = mk('web');
  closers.push(() => cart.close(), () => web.close());
  const [cm] = await Promise.all([cart.start(), web.start()]);
  expect(cm.certChainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  expect(cm.trustBundlePem.trim()).toBe(corp.certPem.trim());
  const inbound = await startInbound(new TlsContexts(cart), 'STRICT', sayIdentity);
  closers.push(() => inbound.close());
  expect(await tlsTalk(inbound.port, new TlsContexts(web).clientOptions({ identities: [idOf('shop', 'cart')] }))).toBe(`true ${idOf('shop', 'web')} h2\n`);
});
