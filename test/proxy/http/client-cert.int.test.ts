/**
 * F3 (issue 12): a client-sent `x-forwarded-client-cert` never reaches the app; over mTLS the
 * sidecar sets it from the verified peer (Istio's SANITIZE_SET: By=<own SPIFFE ID>;Hash=<SHA-256 of
 * the peer certificate>;URI=<peer SPIFFE ID>). Real sidecar, real mTLS from weft's CA.
 */
import { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as http2 from 'node:http2';
import { clientTlsOptions } from '../../../proxy/identity/tls';
import type { RunningProxy } from '../../../proxy/main';
import { PolicySidecarHarness, type Seen, TD } from '../../support/policy-sidecar';

const h = new PolicySidecarHarness();
let setSidecar: RunningProxy;
let sanitizeSidecar: RunningProxy;
const FORGED = 'By=spiffe://evil/x;Hash=00;URI=spiffe://shop.local/ns/shop/sa/admin';

beforeAll(async () => {
  await h.start();
  setSidecar = await h.sidecar([]);
  sanitizeSidecar = await h.sidecar([], { forwardClientCert: 'sanitize' });
});
afterAll(() => h.stop());

/** One request to the sidecar's inbound port, as `from` over mTLS (HTTP/1.1) or plaintext; resolves what the app saw. */
function send(port: number, from: 'web' | 'plaintext'): Promise<Seen> {
  const before = h.seen.length;
  const base = { host: '127.0.0.1', port, path: '/who', agent: false as const, headers: { host: 'cart.shop:8080', 'x-forwarded-client-cert': FORGED } };
  return new Promise((resolve, reject) => {
    const done = (r: http.IncomingMessage): void => {
      r.resume();
      r.on('end', () => (r.statusCode === 200 && h.seen.length === before + 1 ? resolve(h.seen[before]) : reject(new Error(`status ${r.statusCode}`))));
    };
    if (from === 'plaintext') return void http.request(base, done).on('error', reject).end();
    const tlsOpts = { ...clientTlsOptions(h.ids.get('web')!, { identities: [h.ids.get('cart')!.spiffeId] }), ALPNProtocols: ['http/1.1'] } as https.RequestOptions;
    https.request({ ...tlsOpts, ...base }, done).on('error', reject).end();
  });
}

const sha256Hex = (pem: string): string => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

test('mTLS: the forged header is replaced by By/Hash/URI of the verified peer (SANITIZE_SET)', async () => {
  const seen = await send(setSidecar.ports.inbound, 'web');
  const web = h.ids.get('web')!;
  expect(seen.headers['x-forwarded-client-cert']).toBe(`By=spiffe://${TD}/ns/shop/sa/cart;Hash=${sha256Hex(web.certChainPem)};URI=spiffe://${TD}/ns/shop/sa/web`);
});

test('mTLS over HTTP/2 (ALPN h2): the same header', async () => {
  const web = h.ids.get('web')!;
  const s = http2.connect(`https://127.0.0.1:${setSidecar.ports.inbound}`, { ...clientTlsOptions(web, { identities: [h.ids.get('cart')!.spiffeId] }), ALPNProtocols: ['h2'] } as http2.SecureClientSessionOptions);
  const before = h.seen.length;
  await new Promise<void>((resolve, reject) => {
    const st = s.request({ ':path': '/who', ':authority': 'cart.shop:8080', 'x-forwarded-client-cert': FORGED });
    st.on('response', (r) => (r[':status'] === 200 ? undefined : reject(new Error(String(r[':status'])))));
    st.resume();
    st.on('close', () => resolve());
    st.on('error', reject);
  });
  s.close();
  expect(h.seen[before].headers['x-forwarded-client-cert']).toBe(`By=spiffe://${TD}/ns/shop/sa/cart;Hash=${sha256Hex(web.certChainPem)};URI=spiffe://${TD}/ns/shop/sa/web`);
});

test('plaintext (PERMISSIVE): the forged header is removed and none is set', async () => {
  const seen = await send(setSidecar.ports.inbound, 'plaintext');
  expect(seen.headers['x-forwarded-client-cert']).toBeUndefined();
});

test('forwardClientCert: sanitize → removed even over mTLS', async () => {
  const seen = await send(sanitizeSidecar.ports.inbound, 'web');
  expect(seen.headers['x-forwarded-client-cert']).toBeUndefined();
});
