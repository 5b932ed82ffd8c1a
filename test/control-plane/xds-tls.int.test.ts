/**
 * ADS over TLS end to end: runControlPlane() with its CA serves --port over TLS (the CA's own serving
 * certificate), the proxy's XdsClient verifies it against the trust anchor and presents its workload
 * certificate from the real CA client; a wrong anchor, an impostor identity, a node claiming
 * another identity, a stream without a verified client certificate and a node id held by another
 * identity are each refused with their code; --xds-allow-unauthenticated serves certificate-less
 * streams; --xds-plaintext-port still serves plaintext.
 */
import 'reflect-metadata';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { BootstrapTokenAuthenticator } from '../../control-plane/ca/authn';
import { optionsFromFlags, runControlPlane, type RunningControlPlane } from '../../control-plane/main';
import { ConfigCell } from '../../proxy/config';
import { caClientFromBootstrap, type CaClientIdentityProvider } from '../../proxy/identity/ca-client';
import { XdsClient, type XdsNode } from '../../proxy/xds/client';
import type { XdsTlsOptions } from '../../proxy/xds/tls';
import { directoryCertificates, serveAdsTls } from '../../control-plane/xds-tls';
import { makeCa, makeLeaf } from '../support/certs';
import { strictMeshConfigYaml, until } from '../support/waiting';

const TD = 'tls.local';
let root: string;
let running: RunningControlPlane;
const logs: { msg: string; code?: unknown }[] = [];
const stops: (() => void)[] = [];

const service = (name: string) => `apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: ${name}, namespace: shop }
spec:
  serviceAccount: ${name}
  ports: [{ name: http, port: 8080, protocol: http }]
  versions: [{ name: v1, replicas: 1 }]
  interception: explicit
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-xds-tls-'));
  await mkdir(join(root, 'dist'));
  await writeFile(join(root, 'dist', 'mesh.yaml'), [strictMeshConfigYaml(TD), service('reviews'), service('ratings')].join('---\n'));
  running = await runControlPlane(
    optionsFromFlags({ source: 'local', dist: join(root, 'dist'), port: '0', statusPort: '0', caPort: '0', xdsPlaintextPort: '0', stateDir: join(root, 'state'), meshConfig: 'mesh' }),
    (_level, msg, fields) => logs.push({ msg, code: fields?.code }),
  );
});

afterAll(async () => {
  for (const s of stops) s();
  await running?.stop();
  await rm(root, { recursive: true, force: true });
});

/** A real CA client holding a certificate for shop/<sa> (one-time token minted by the control plane's CA). */
async function workload(sa: string): Promise<CaClientIdentityProvider> {
  const token = (running.ca!.authenticator as BootstrapTokenAuthenticator).mint({ namespace: 'shop', serviceAccount: sa });
  const id = caClientFromBootstrap(
    { controlPlane: { xds: '', ca: `127.0.0.1:${running.ca!.server.port}` }, identity: { trustDomain: TD, caTrustAnchorFile: running.ca!.trustAnchorFile } },
    { credential: token },
  );
  await id.start();
  stops.push(() => id.close());
  return id;
}

const node = (service: string, extra: Partial<XdsNode> = {}): XdsNode => ({ id: `${service}-0`, service, namespace: 'shop', version: 'v1', address: '127.0.0.1', ports: { http: 1 }, ...extra });

function client(o: { node: XdsNode; tls?: Partial<XdsTlsOptions>; identity?: CaClientIdentityProvider; port?: number; plaintext?: boolean }): { xds: XdsClient; cell: ConfigCell } {
  const cell = new ConfigCell();
  const tls: XdsTlsOptions = { trustAnchor: { file: running.ca!.trustAnchorFile }, trustDomain: TD, ...o.tls };
  const xds = new XdsClient({
    server: `127.0.0.1:${o.port ?? running.xdsPort}`, node: o.node, cell, identity: o.identity, initialBackoffMs: 50, maxBackoffMs: 200,
    ...(o.plaintext ? {} : { tls }),
  });
  xds.start();
  stops.push(() => xds.stop());
  return { xds, cell };
}

/** The serving certificate (DER fingerprint) on `port`, unverified. */
const servedFingerprint = (port: number) => new Promise<string>((resolve, reject) => {
  const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
    const f = s.getPeerCertificate().fingerprint256;
    s.destroy();
    resolve(f);
  });
  s.once('error', reject);
});

const connectedIds = () => running.controlPlane.ads.connectedNodes().map((n) => n.id);

test('ADS is TLS on --port with the CA\'s serving certificate (SPIFFE ID + IP SAN)', async () => {
  expect(running.xdsTls).toBe(true);
  expect(running.xdsPlaintextPort).toBeGreaterThan(0);
  const peer = await new Promise<{ uri: string; ip: string }>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: running.xdsPort, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const san = s.getPeerCertificate().subjectaltname ?? '';
      s.destroy();
      resolve({ uri: san, ip: san });
    });
    s.once('error', reject);
  });
  expect(peer.uri).toContain(`URI:spiffe://${TD}/ns/weft-system/sa/weft-control-plane`);
  expect(peer.ip).toContain('IP Address:127.0.0.1');
});

test('a sidecar gets its config over TLS, presenting its workload certificate (node authenticated)', async () => {
  const identity = await workload('reviews');
  const { xds, cell } = client({ node: node('reviews', { serviceAccount: 'reviews' }), identity });
  await xds.ready;
  expect(cell.get().listeners.size).toBeGreaterThan(0);
  expect(xds.status()).toMatchObject({ connected: true, tls: true, clientIdentity: `spiffe://${TD}/ns/shop/sa/reviews` });
  expect(connectedIds()).toContain('reviews-0');
  const metrics = await running.controlPlane.metricsRegistry.getSingleMetricAsString('weft_xds_node_authentication_total');
  expect(metrics).toMatch(/result="authenticated"} [1-9]/);
});

test('a trust anchor of another CA: WEFT_ERR_XDS_UNTRUSTED, no config, no node at the server', async () => {
  const other = await makeCa();
  const { xds, cell } = client({ node: node('ratings', { id: 'untrusted-0' }), tls: { trustAnchor: { pem: other.certPem } } });
  await until(async () => xds.status().lastStreamError?.code === 'WEFT_ERR_XDS_UNTRUSTED', 'untrusted refused');
  expect(cell.get().listeners.size).toBe(0);
  expect(xds.status().connected).toBe(false);
  expect(connectedIds()).not.toContain('untrusted-0');
});

test('a server that is not the expected control plane identity: WEFT_ERR_XDS_WRONG_IDENTITY', async () => {
  const { xds, cell } = client({ node: node('ratings', { id: 'impostor-0' }), tls: { expectedIdentity: `spiffe://${TD}/ns/elsewhere/sa/weft-control-plane` } });
  await until(async () => xds.status().lastStreamError?.code === 'WEFT_ERR_XDS_WRONG_IDENTITY', 'wrong identity refused');
  expect(cell.get().listeners.size).toBe(0);
  expect(connectedIds()).not.toContain('impostor-0');
});

test('a node claiming an identity its certificate does not name is refused (coded, logged), not NACKed', async () => {
  const identity = await workload('ratings');
  // same namespace, but the mesh runs reviews as ServiceAccount reviews
  const asReviews = client({ node: node('reviews', { id: 'liar-0' }), identity });
  // another namespace
  const otherNs = client({ node: node('ratings', { id: 'liar-1', namespace: 'payments' }), identity });
  // another service account claimed outright
  const otherSa = client({ node: node('ratings', { id: 'liar-2', serviceAccount: 'admin' }), identity });
  for (const { xds } of [asReviews, otherNs, otherSa]) {
    await until(async () => xds.status().lastStreamError?.code === 'WEFT_ERR_XDS_NODE_IDENTITY_MISMATCH', 'mismatch refused');
    expect(xds.status().connected).toBe(false);
  }
  expect(asReviews.cell.get().listeners.size).toBe(0);
  expect(connectedIds().filter((id) => id.startsWith('liar-'))).toEqual([]);
  expect(logs.some((l) => l.code === 'WEFT_ERR_XDS_NODE_IDENTITY_MISMATCH' && /liar-0.*sa\/ratings.*claims service shop\/reviews/.test(l.msg))).toBe(true);
  // the honest claim with the same certificate is served
  const honest = client({ node: node('ratings', { id: 'honest-0', serviceAccount: 'ratings' }), identity });
  await honest.xds.ready;
  expect(connectedIds()).toContain('honest-0');
});

test('without a verified client certificate the stream is refused by default: WEFT_ERR_XDS_UNAUTHENTICATED, logged, counted', async () => {
  const none = client({ node: node('ratings', { id: 'anonymous-tls-0' }) });
  // a certificate of another CA is not verified by the mesh roots: the same as none
  const other = await makeCa('not the mesh root');
  const foreign = await makeLeaf(other, `spiffe://${TD}/ns/shop/sa/ratings`);
  const forged = { current: () => ({ certChainPem: foreign.certPem, keyPem: foreign.keyPem, spiffeId: `spiffe://${TD}/ns/shop/sa/ratings`, notAfter: new Date(Date.now() + 3_600_000) }), onChange: () => () => undefined } as unknown as CaClientIdentityProvider;
  const unverified = client({ node: node('ratings', { id: 'foreign-cert-0', serviceAccount: 'ratings' }), identity: forged });
  for (const { xds, cell } of [none, unverified]) {
    await until(async () => xds.status().lastStreamError?.code === 'WEFT_ERR_XDS_UNAUTHENTICATED', 'unauthenticated refused');
    expect(xds.status().connected).toBe(false);
    expect(cell.get().listeners.size).toBe(0);
  }
  expect(connectedIds()).not.toContain('anonymous-tls-0');
  expect(connectedIds()).not.toContain('foreign-cert-0');
  expect(logs.some((l) => l.code === 'WEFT_ERR_XDS_UNAUTHENTICATED' && /anonymous-tls-0/.test(l.msg))).toBe(true);
  const metrics = await running.controlPlane.metricsRegistry.getSingleMetricAsString('weft_xds_node_authentication_total');
  expect(metrics).toMatch(/result="unauthenticated"} [1-9]/);
});

test('--xds-allow-unauthenticated (migration aid): a stream without a client certificate is served, logged and counted', async () => {
  expect(() => optionsFromFlags({ source: 'local', xdsInsecure: true, xdsAllowUnauthenticated: true })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CP_USAGE' }));
  const warned: { msg: string; code?: unknown }[] = [];
  const lenient = await runControlPlane(
    optionsFromFlags({ source: 'local', dist: join(root, 'dist'), port: '0', statusPort: '0', caPort: '0', xdsAllowUnauthenticated: true, stateDir: join(root, 'state-lenient'), meshConfig: 'mesh' }),
    (_level, msg, fields) => warned.push({ msg, code: fields?.code }),
  );
  try {
    const cell = new ConfigCell();
    const xds = new XdsClient({
      server: `127.0.0.1:${lenient.xdsPort}`, node: node('ratings', { id: 'anonymous-allowed-0' }), cell,
      tls: { trustAnchor: { file: lenient.ca!.trustAnchorFile }, trustDomain: TD },
    });
    xds.start();
    stops.push(() => xds.stop());
    await xds.ready;
    expect(xds.status()).toMatchObject({ connected: true, tls: true });
    expect(xds.status().clientIdentity).toBeUndefined();
    expect(warned.some((l) => l.code === 'WEFT_ERR_XDS_UNAUTHENTICATED' && /anonymous-allowed-0.*WITHOUT a client certificate/.test(l.msg))).toBe(true);
    expect(await lenient.controlPlane.metricsRegistry.getSingleMetricAsString('weft_xds_node_authentication_total')).toMatch(/result="unauthenticated_allowed"} 1/);
  } finally {
    await lenient.stop();
  }
});

test('node id binding: a self-registered instance held by one identity is not taken over by another (coded), the endpoint stays', async () => {
  const ratings = await workload('ratings');
  const reviews = await workload('reviews');
  const holder = client({ node: node('ratings', { id: 'shared-0', serviceAccount: 'ratings', address: '127.0.0.1', ports: { http: 1111 } }), identity: ratings });
  await holder.xds.ready;
  const endpointOf = () => running.source.lastSnapshot?.endpoints.find((e) => e.instance === 'shared-0');
  await until(async () => endpointOf() !== undefined, 'shared-0 registered');
  // a consistent claim for its own identity, but under the node id ratings holds
  const thief = client({ node: node('reviews', { id: 'shared-0', serviceAccount: 'reviews', address: '127.0.0.1', ports: { http: 2222 } }), identity: reviews });
  await until(async () => thief.xds.status().lastStreamError?.code === 'WEFT_ERR_XDS_NODE_ID_TAKEN', 'takeover refused');
  expect(thief.xds.status().connected).toBe(false);
  expect(logs.some((l) => l.code === 'WEFT_ERR_XDS_NODE_ID_TAKEN' && /shared-0.*sa\/ratings/.test(l.msg))).toBe(true);
  expect(endpointOf()).toMatchObject({ service: 'ratings', ports: { http: 1111 } });
  expect(await running.controlPlane.metricsRegistry.getSingleMetricAsString('weft_xds_node_authentication_total')).toMatch(/result="node_id_taken"} [1-9]/);
  // the holder reconnecting (same identity) shares the binding
  const again = client({ node: node('ratings', { id: 'shared-0', serviceAccount: 'ratings', address: '127.0.0.1', ports: { http: 1111 } }), identity: ratings });
  await again.xds.ready;
  // once every stream of the holder is gone, the id is free again
  thief.xds.stop();
  holder.xds.stop();
  again.xds.stop();
  await until(async () => endpointOf() === undefined, 'shared-0 deregistered');
  const next = client({ node: node('reviews', { id: 'shared-0', serviceAccount: 'reviews', address: '127.0.0.1', ports: { http: 2222 } }), identity: reviews });
  await next.xds.ready;
  await until(async () => endpointOf()?.service === 'reviews', 'shared-0 now reviews');
});

test('--xds-plaintext-port serves the same ADS in plaintext; the TLS port refuses plaintext', async () => {
  const plain = client({ node: node('ratings', { id: 'plain-0' }), port: running.xdsPlaintextPort, plaintext: true });
  await plain.xds.ready;
  expect(plain.xds.status().tls).toBe(false);
  const wrongPort = client({ node: node('ratings', { id: 'plain-on-tls-0' }), plaintext: true });
  await until(async () => wrongPort.xds.status().lastStreamError !== undefined, 'plaintext to the TLS port fails');
  expect(wrongPort.cell.get().listeners.size).toBe(0);
});

test('rotation: the CA re-issues the TLS ADS certificate in place (same port); the open stream stays, new connections get the new one', async () => {
  const identity = await workload('ratings');
  const open = client({ node: node('ratings', { id: 'rotating-0', serviceAccount: 'ratings' }), identity });
  await open.xds.ready;
  const streamBefore = running.controlPlane.ads.connectedNodes().find((n) => n.id === 'rotating-0')!.streamId;
  const before = await servedFingerprint(running.xdsPort);
  const extra = await makeCa('an added root');
  running.ca!.ca.addTrustedRoot(extra.certPem); // any trust change re-issues the serving certificate
  await until(async () => (await servedFingerprint(running.xdsPort)) !== before, 'new serving certificate on the same port');
  // a fresh sidecar verifies the new certificate with the rewritten anchor (both roots)
  const fresh = client({ node: node('ratings', { id: 'after-rotation-0', serviceAccount: 'ratings' }), identity });
  await fresh.xds.ready;
  expect(running.controlPlane.ads.connectedNodes().find((n) => n.id === 'rotating-0')?.streamId).toBe(streamBefore);
  expect(open.xds.status()).toMatchObject({ connected: true, reconnects: 0 });
  running.ca!.ca.removeTrustedRoot(extra.certPem);
});

test('refused streams leave nothing behind in the ADS server', async () => {
  const identity = await workload('ratings');
  const before = (running.controlPlane.ads as unknown as { streams: Map<number, unknown> }).streams.size;
  const liar = client({ node: node('reviews', { id: 'liar-leak-0' }), identity });
  await until(async () => (liar.xds.status().reconnects ?? 0) >= 3, 'three refused attempts');
  liar.xds.stop();
  await until(async () => (running.controlPlane.ads as unknown as { streams: Map<number, unknown> }).streams.size <= before, 'refused streams released');
});

test('--xds-tls-dir: files re-read in place; a bad rewrite keeps the current certificate (coded)', async () => {
  const dir = join(root, 'xds-tls');
  const stopWriting = running.ca!.writeServingCertificate(dir);
  const errors: string[] = [];
  const certs = directoryCertificates(dir, { reloadMs: 60_000, onError: (e) => errors.push(e.code) });
  const listener = await serveAdsTls(running.controlPlane.ads, { host: '127.0.0.1', port: 0, credentials: certs.credentials, nodeAuth: { trustDomain: () => TD } });
  try {
    const first = await servedFingerprint(listener.port);
    expect(first).toBe(new X509Certificate(await readFile(join(dir, 'tls.crt'))).fingerprint256);
    const extra = await makeCa('another added root');
    running.ca!.ca.addTrustedRoot(extra.certPem); // the writer rewrites tls.crt/tls.key/ca.crt
    expect(certs.reload()).toBe(true);
    const second = await servedFingerprint(listener.port);
    expect(second).not.toBe(first);
    const { xds } = client({ node: node('ratings', { id: 'dir-0', serviceAccount: 'ratings' }), port: listener.port, identity: await workload('ratings') });
    await xds.ready;
    await writeFile(join(dir, 'tls.key'), 'not a key');
    expect(certs.reload()).toBe(false);
    expect(errors).toEqual(['WEFT_ERR_XDS_BAD_SERVING_CERT']);
    expect(await servedFingerprint(listener.port)).toBe(second);
    running.ca!.ca.removeTrustedRoot(extra.certPem);
  } finally {
    stopWriting();
    certs.close();
    await listener.close();
  }
});

test('--xds-insecure: ADS plaintext on --port even with a CA; contradictory flags are usage errors', async () => {
  expect(() => optionsFromFlags({ source: 'local', xdsInsecure: true, xdsPlaintextPort: '0' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CP_USAGE', exitCode: 2 }));
  expect(() => optionsFromFlags({ source: 'local', xdsInsecure: true, xdsTlsDir: '/x' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CP_USAGE' }));
  const insecure = await runControlPlane(
    optionsFromFlags({ source: 'local', dist: join(root, 'dist'), port: '0', statusPort: '0', caPort: '0', xdsInsecure: true, stateDir: join(root, 'state-insecure'), meshConfig: 'mesh' }),
    () => undefined,
  );
  try {
    expect(insecure.xdsTls).toBe(false);
    expect(insecure.xdsPlaintextPort).toBeUndefined();
    const cell = new ConfigCell();
    const xds = new XdsClient({ server: `127.0.0.1:${insecure.xdsPort}`, node: node('ratings', { id: 'insecure-0' }), cell });
    xds.start();
    stops.push(() => xds.stop());
    await xds.ready;
    expect(xds.status().tls).toBe(false);
  } finally {
    await insecure.stop();
  }
});

test('certificate first: the first xDS connection waits for the first certificate, then presents it', async () => {
  const token = (running.ca!.authenticator as BootstrapTokenAuthenticator).mint({ namespace: 'shop', serviceAccount: 'ratings' });
  const identity = caClientFromBootstrap(
    { controlPlane: { xds: '', ca: `127.0.0.1:${running.ca!.server.port}` }, identity: { trustDomain: TD, caTrustAnchorFile: running.ca!.trustAnchorFile } },
    { credential: token },
  );
  stops.push(() => identity.close());
  const { xds } = client({ node: node('ratings', { id: 'waiting-0', serviceAccount: 'ratings' }), identity });
  // no certificate yet: nothing dialed (a real ADS round trip on another stream shows the server is serving)
  const probe = client({ node: node('reviews', { id: 'probe-0', serviceAccount: 'reviews' }), identity: await workload('reviews') });
  await probe.xds.ready;
  expect(connectedIds()).not.toContain('waiting-0');
  expect(xds.status()).toMatchObject({ connected: false, reconnects: 0, waitingForCertificate: true });
  await identity.start();
  await xds.ready;
  expect(xds.status()).toMatchObject({ connected: true, clientIdentity: `spiffe://${TD}/ns/shop/sa/ratings` });
});

test('the certificate wait is unbounded by default and abandoned on stop(); an explicit bound dials without one and is refused', async () => {
  const never = () => caClientFromBootstrap({ controlPlane: { xds: '', ca: '127.0.0.1:1' }, identity: { trustDomain: TD } }, { credential: 'never-started' });
  const tls = { trustAnchor: { file: running.ca!.trustAnchorFile }, trustDomain: TD };
  const bounded = new XdsClient({ server: `127.0.0.1:${running.xdsPort}`, node: node('ratings', { id: 'no-cert-bounded-0' }), cell: new ConfigCell(), identity: never(), certificateWaitMs: 50, initialBackoffMs: 50, maxBackoffMs: 200, tls });
  const waiting = new XdsClient({ server: `127.0.0.1:${running.xdsPort}`, node: node('ratings', { id: 'no-cert-0' }), cell: new ConfigCell(), identity: never(), tls });
  bounded.start();
  waiting.start();
  stops.push(() => bounded.stop(), () => waiting.stop());
  await until(async () => bounded.status().lastStreamError?.code === 'WEFT_ERR_XDS_UNAUTHENTICATED', 'bounded wait: dialed without a certificate, refused');
  // the bounded client has dialed (and been refused) at least once; the unbounded one still waits
  expect(bounded.status().waitingForCertificate).toBeUndefined();
  expect(waiting.status()).toMatchObject({ connected: false, reconnects: 0, waitingForCertificate: true });
  expect(waiting.status().lastStreamError).toBeUndefined();
  waiting.stop();
  expect(waiting.status().waitingForCertificate).toBeUndefined();
  expect(connectedIds()).not.toContain('no-cert-0');
});
