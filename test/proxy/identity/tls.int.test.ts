/** Real TLS refusals and acceptances of the inbound gate and the outbound client options. */
import * as http from 'node:http';
import * as tls from 'node:tls';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InboundConnection } from '../../../proxy/identity/inbound';
import { StaticIdentityProvider } from '../../../proxy/identity/static';
import { TlsContexts, checkPeerCertificate } from '../../../proxy/identity/tls';
import { classifyTlsError } from '../../../proxy/identity/errors';
import { TestCa, makeCa, makeLeaf } from '../../support/certs';
import { ManualClock, TD, idOf, plainTalk, sayIdentity, startInbound, tlsTalk } from './harness';

let dir: string;
let ca: TestCa;
let evil: TestCa;
let server: TlsContexts;
let client: TlsContexts;
const closers: (() => unknown)[] = [];

async function identityDir(name: string, issuer: TestCa, spiffe: string, opts: Parameters<typeof makeLeaf>[2] = {}, bundle = issuer.certPem) {
  const leaf = await makeLeaf(issuer, spiffe, opts);
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, 'cert.pem'), leaf.certPem);
  writeFileSync(join(d, 'key.pem'), leaf.keyPem);
  writeFileSync(join(d, 'ca.pem'), bundle);
  return new StaticIdentityProvider(d);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-tls-'));
  ca = await makeCa('mesh root');
  evil = await makeCa('evil root');
  server = new TlsContexts(await identityDir('cart', ca, idOf('shop', 'cart')));
  client = new TlsContexts(await identityDir('web', ca, idOf('shop', 'web')));
});
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function inbound(mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE', onConn: (c: InboundConnection) => void = sayIdentity, clock?: ManualClock) {
  const s = await startInbound(server, mode, onConn, clock);
  closers.push(() => s.close());
  return s;
}

const errCode = (p: Promise<unknown>) => p.then(() => 'no error', (e) => classifyTlsError(e).code);

describe('STRICT', () => {
  test('mTLS from a mesh identity is accepted and the peer identity is verified, with ALPN', async () => {
    const s = await inbound('STRICT');
    expect(await tlsTalk(s.port, client.clientOptions({ identities: [idOf('shop', 'cart')] }))).toBe(`true ${idOf('shop', 'web')} h2\n`);
    expect(await tlsTalk(s.port, { ...client.clientOptions(), ALPNProtocols: ['http/1.1'] })).toBe(`true ${idOf('shop', 'web')} http/1.1\n`);
  });

  test('plaintext is refused (WEFT_ERR_TLS_PLAINTEXT_REFUSED) and gets no answer', async () => {
    const s = await inbound('STRICT');
    const refusal = s.nextRefusal();
    expect(await plainTalk(s.port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n')).toBe('');
    expect(await refusal).toBe('WEFT_ERR_TLS_PLAINTEXT_REFUSED');
  });

  test('TLS without a client certificate is refused (WEFT_ERR_TLS_NO_PEER_CERT)', async () => {
    const s = await inbound('STRICT');
    const refusal = s.nextRefusal();
    const m = client.material();
    await errCode(tlsTalk(s.port, { ca: m.trustBundlePem, checkServerIdentity: () => undefined }));
    expect(await refusal).toBe('WEFT_ERR_TLS_NO_PEER_CERT');
  });

  test('a client certificate from another CA is refused (WEFT_ERR_TLS_UNTRUSTED)', async () => {
    const s = await inbound('STRICT');
    const intruder = new TlsContexts(await identityDir('intruder', evil, idOf('shop', 'web'), {}, ca.certPem));
    const refusal = s.nextRefusal();
    await errCode(tlsTalk(s.port, intruder.clientOptions()));
    expect(await refusal).toBe('WEFT_ERR_TLS_UNTRUSTED');
  });

  test('an expired client certificate is refused (WEFT_ERR_TLS_CERT_EXPIRED)', async () => {
    const s = await inbound('STRICT');
    const past = new Date(Date.now() - 3 * 86_400_000);
    const stale = new TlsContexts(await identityDir('stale', ca, idOf('shop', 'web'), { notBefore: past, notAfter: new Date(past.getTime() + 86_400_000) }));
    const refusal = s.nextRefusal();
    await errCode(tlsTalk(s.port, stale.clientOptions()));
    expect(await refusal).toBe('WEFT_ERR_TLS_CERT_EXPIRED');
  });

  test('with the clock injected past its notAfter, a still-valid certificate is refused as expired', async () => {
    const clock = new ManualClock(Date.now() + 2 * 86_400_000);
    const s = await inbound('STRICT', sayIdentity, clock);
    const refusal = s.nextRefusal();
    await errCode(tlsTalk(s.port, client.clientOptions()));
    expect(await refusal).toBe('WEFT_ERR_TLS_CERT_EXPIRED');
  });

  test('a certificate without a SPIFFE ID, or of another trust domain, is refused (WEFT_ERR_TLS_BAD_PEER_IDENTITY)', async () => {
    const s = await inbound('STRICT');
    for (const [, id] of [['foreign', 'spiffe://other.local/ns/shop/sa/web'], ['https', 'https://web.shop.svc']] as const) {
      const leaf = await makeLeaf(ca, id);
      const refusal = s.nextRefusal();
      await errCode(tlsTalk(s.port, { key: leaf.keyPem, cert: leaf.certPem, ca: ca.certPem, checkServerIdentity: () => undefined }));
      expect(await refusal).toBe('WEFT_ERR_TLS_BAD_PEER_IDENTITY');
    }
  });
});

describe('outbound checks of the server', () => {
  test('a server presenting another SPIFFE ID than the control plane expects is refused (WEFT_ERR_TLS_WRONG_IDENTITY)', async () => {
    const s = await inbound('STRICT');
    expect(await errCode(tlsTalk(s.port, client.clientOptions({ identities: [idOf('shop', 'payments')] })))).toBe('WEFT_ERR_TLS_WRONG_IDENTITY');
  });

  test('a server certificate from another CA is refused (WEFT_ERR_TLS_UNTRUSTED)', async () => {
    const fake = new TlsContexts(await identityDir('fake-cart', evil, idOf('shop', 'cart'), {}, ca.certPem));
    const s = await startInbound(fake, 'PERMISSIVE', sayIdentity);
    closers.push(() => s.close());
    expect(await errCode(tlsTalk(s.port, client.clientOptions({ identities: [idOf('shop', 'cart')] })))).toBe('WEFT_ERR_TLS_UNTRUSTED');
  });

  test('checkPeerCertificate names each problem', () => {
    const cert = { valid_from: new Date(Date.now() - 1000).toUTCString(), valid_to: new Date(Date.now() + 60_000).toUTCString(), subjectaltname: `URI:${idOf('a', 'b')}` } as tls.PeerCertificate;
    expect(checkPeerCertificate(cert, { trustDomain: TD })).toBe(idOf('a', 'b'));
    expect(() => checkPeerCertificate(undefined)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TLS_NO_PEER_CERT' }));
    expect(() => checkPeerCertificate({ ...cert, subjectaltname: `URI:${idOf('a', 'b')}, URI:${idOf('c', 'd')}` })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TLS_BAD_PEER_IDENTITY' }));
    expect(() => checkPeerCertificate(cert, { identities: [idOf('x', 'y')] })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TLS_WRONG_IDENTITY' }));
    expect(() => checkPeerCertificate(cert, { clock: new ManualClock(Date.now() + 120_000) })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TLS_CERT_EXPIRED' }));
  });
});

describe('PERMISSIVE', () => {
  /** An HTTP/1.1 server fed the gate's connections: plaintext and mTLS on one port. */
  async function httpOnPermissive() {
    const app = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.end(`${(req.socket as tls.TLSSocket).encrypted ? 'mtls' : 'plain'} ${req.method} ${req.url} ${body.length}`));
    });
    closers.push(() => app.close());
    return inbound('PERMISSIVE', (c) => app.emit('connection', c.socket));
  }

  test('serves plaintext and mTLS on the same port, losing none of the peeked bytes', async () => {
    const s = await httpOnPermissive();
    const big = 'x'.repeat(200_000);
    const plain = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/orders?id=1', agent: false }, (res) => {
        let d = '';
        res.on('data', (c) => (d += c)).on('end', () => resolve(d));
      });
      req.on('error', reject);
      req.end(big);
    });
    expect(plain).toBe(`plain POST /orders?id=1 ${big.length}`);
    const https = await import('node:https');
    const secure = await new Promise<string>((resolve, reject) => {
      const opts: import('node:https').RequestOptions = { ...client.clientOptions({ identities: [idOf('shop', 'cart')] }), ALPNProtocols: ['http/1.1'] } as never;
      const req = https.request({ ...opts, host: '127.0.0.1', port: s.port, method: 'POST', path: '/pay', agent: false }, (res) => {
        let d = '';
        res.on('data', (c) => (d += c)).on('end', () => resolve(d));
      });
      req.on('error', reject);
      req.end('abc');
    });
    expect(secure).toBe('mtls POST /pay 3');
  });

  test('never accepts invalid mTLS: an untrusted client certificate is refused', async () => {
    const s = await inbound('PERMISSIVE');
    const intruder = new TlsContexts(await identityDir('intruder2', evil, idOf('shop', 'web'), {}, ca.certPem));
    const refusal = s.nextRefusal();
    await errCode(tlsTalk(s.port, intruder.clientOptions()));
    expect(await refusal).toBe('WEFT_ERR_TLS_UNTRUSTED');
  });
});

test('DISABLE passes the connection through untouched (TLS bytes included)', async () => {
  const seen: Buffer[] = [];
  const s = await inbound('DISABLE', (c) => c.socket.once('data', (d) => { seen.push(d); c.socket.destroy(); }));
  await errCode(tlsTalk(s.port, client.clientOptions()));
  expect(seen[0][0]).toBe(0x16);
});
