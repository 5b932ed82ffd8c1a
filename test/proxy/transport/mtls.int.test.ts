/** mTLS between two proxy instances with real test certificates: both sidecar transports, identity checks, fail-closed. */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { makeCa, makeLeaf, type TestCa } from '../../support/certs';
import { ProxyServer } from '../../../proxy/http/server';
import { H1Endpoint } from '../../../proxy/http/client-h1';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { TlsContexts } from '../../../proxy/transport/tls';
import type { IdentityMaterial, IdentityProvider } from '../../../proxy/identity/types';
import { closeServer, get, h2get, listen, raw } from '../http/util';

const CLIENT_ID = 'spiffe://weft.test/ns/default/sa/client';
const SERVER_ID = 'spiffe://weft.test/ns/default/sa/server';

function provider(ca: TestCa, leaf: { certPem: string; keyPem: string }, id: string): IdentityProvider {
  const m: IdentityMaterial = { certChainPem: leaf.certPem, keyPem: leaf.keyPem, trustBundlePem: ca.certPem, spiffeId: id, notAfter: new Date(Date.now() + 86_400_000) };
  return { current: () => m, onChange: () => () => undefined };
}

let app: http.Server;
let appPort: number;
let serverSidecar: ProxyServer;
let serverPort: number;
let clientTls: TlsContexts;
let serverTls: TlsContexts;
let inboundApp: H1Endpoint;
let seenPeer: string | undefined;
let accepted = 0;
const closers: (() => unknown)[] = [];

let trustedCa: TestCa;

beforeAll(async () => {
  const ca = await makeCa();
  trustedCa = ca;
  clientTls = new TlsContexts(provider(ca, await makeLeaf(ca, CLIENT_ID), CLIENT_ID));
  serverTls = new TlsContexts(provider(ca, await makeLeaf(ca, SERVER_ID), SERVER_ID));
  app = http.createServer((req, res) => res.end(`app:${req.method}:${req.url}:${req.httpVersion}`));
  appPort = await listen(app);
  inboundApp = new H1Endpoint({ address: '127.0.0.1', port: appPort });
  serverSidecar = new ProxyServer({
    handler: (req) => {
      seenPeer = req.peer.identity;
      return inboundApp.handler(req);
    },
    tls: { options: () => serverTls.serverOptions() },
    onConnection: () => accepted++,
  });
  serverPort = (await serverSidecar.listen(0)).port;
});

afterAll(async () => {
  for (const c of closers) await c();
  await serverSidecar.close();
  inboundApp.close();
  await closeServer(app);
});

async function clientSidecar(sidecarProtocol: 'http1' | 'http2', expectedIdentity = SERVER_ID): Promise<number> {
  const clients = new EndpointClients({ tls: clientTls, sidecarProtocol });
  const client = clients.endpointClient({ address: '127.0.0.1', port: serverPort, tls: { expectedIdentity }, protocol: 'http1' });
  const p = new ProxyServer({ handler: client });
  closers.push(() => p.close(), () => clients.close());
  return (await p.listen(0)).port;
}

test.each(['http1', 'http2'] as const)('app → sidecar → mTLS (%s) → sidecar → app', async (proto) => {
  const port = await clientSidecar(proto);
  const before = accepted;
  const agent = new http.Agent({ keepAlive: true });
  for (let i = 0; i < 3; i++) {
    const r = await get(port, { path: `/p${i}`, agent, headers: { host: 'server.default' } });
    expect(r.status).toBe(200);
    expect(r.body).toBe(`app:GET:/p${i}:1.1`);
  }
  // the server sidecar saw the client's verified SPIFFE identity
  expect(seenPeer).toBe(CLIENT_ID);
  // and the sidecar-to-sidecar connection was pooled: one mTLS connection for all requests
  expect(accepted - before).toBe(1);
  agent.destroy();
});

test('wrong expected server identity: the request fails closed with a reason', async () => {
  const port = await clientSidecar('http1', 'spiffe://weft.test/ns/default/sa/other');
  const r = await get(port, { path: '/' });
  expect(r.status).toBeGreaterThanOrEqual(502);
  expect(String(r.headers['weft-error'])).toMatch(/^connect_failure/);
});

test('STRICT: plaintext to the mTLS listener is refused', async () => {
  const r = await raw(serverPort, 'GET / HTTP/1.1\r\nhost: a\r\n\r\n', 2000);
  expect(r.closed).toBe(true);
  expect(r.text).toBe('');
});

test('a client without a certificate cannot complete the handshake', async () => {
  const err = await new Promise<Error | undefined>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: serverPort, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: a\r\n\r\n'));
    s.on('data', () => resolve(undefined));
    s.on('error', (e) => resolve(e));
    s.on('close', () => resolve(new Error('closed')));
  });
  expect(err).toBeDefined();
});

test('h2 over TLS with ALPN: an h2 client is served as HTTP/2', async () => {
  const session = http2.connect(`https://127.0.0.1:${serverPort}`, {
    createConnection: () => tls.connect({ host: '127.0.0.1', port: serverPort, secureContext: clientTls.client(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }),
  });
  const r = await h2get(session, { ':path': '/alpn', ':authority': 'server.default' });
  expect(r.headers[':status']).toBe(200);
  expect(r.body).toBe('app:GET:/alpn:1.1');
  session.destroy();
});

test.each([
  ['signed by another CA', async () => makeLeaf(await makeCa('rogue root'), CLIENT_ID)],
  ['expired', async () => makeLeaf(trustedCa, CLIENT_ID, { notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) })],
])('a client certificate %s is refused at the handshake (fail closed)', async (_n, make) => {
  const leaf = await make();
  const outcome = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: serverPort, cert: leaf.certPem, key: leaf.keyPem, ca: trustedCa.certPem, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined });
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: a\r\n\r\n'));
    s.on('data', (d) => resolve(`data:${String(d).slice(0, 12)}`));
    s.on('error', () => resolve('refused'));
    s.on('close', () => resolve('refused'));
  });
  expect(outcome).toBe('refused');
});

test('PERMISSIVE accepts plaintext and valid mTLS, never invalid mTLS', async () => {
  const p = new ProxyServer({ handler: inboundApp.handler, tls: { options: () => serverTls.serverOptions(), permissive: true } });
  const port = (await p.listen(0)).port;
  closers.push(() => p.close());
  const plain = await get(port, { path: '/plain', headers: { host: 'server' } });
  expect(plain.body).toBe('app:GET:/plain:1.1');
  const rogue = await makeLeaf(await makeCa('rogue'), CLIENT_ID);
  const outcome = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, cert: rogue.certPem, key: rogue.keyPem, ca: trustedCa.certPem, checkServerIdentity: () => undefined });
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: a\r\n\r\n'));
    s.on('data', () => resolve('served'));
    s.on('error', () => resolve('refused'));
    s.on('close', () => resolve('refused'));
  });
  expect(outcome).toBe('refused');
});
