/**
 * Rotation under continuous load: leaf renewals and a full root rotation (add the new root,
 * sign with it, drop the old one) while requests keep flowing over fresh mTLS connections and
 * one long-lived HTTP/2 session. No request may fail, and no open connection may drop.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { generateRoot, splitPemCertificates } from '../../control-plane/ca/pki';
import { TlsContexts } from '../../proxy/identity/tls';
import { classifyTlsError } from '../../proxy/identity/errors';
import { idOf, proxyIdentity, startCa, startInbound, tlsTalk, TD } from '../proxy/identity/harness';

test('leaf and root rotation under load lose no request and drop no connection', async () => {
  const env = await startCa();
  const cart = proxyIdentity(env, 'shop', 'cart');
  const web = proxyIdentity(env, 'shop', 'web');
  await Promise.all([cart.start(), web.start()]);
  const serverCtx = new TlsContexts(cart);
  const clientCtx = new TlsContexts(web);
  const initialClient = web.current()!;

  const h1 = http.createServer((req, res) => res.end('ok'));
  const h2 = http2.createServer();
  h2.on('stream', (s) => {
    s.respond({ ':status': 200 });
    s.end('ok');
  });
  const inbound = await startInbound(serverCtx, 'STRICT', (c) => (c.alpn === 'h2' ? h2 : h1).emit('connection', c.socket));
  const expected = { identities: [idOf('shop', 'cart')] };

  const fresh = () =>
    new Promise<string>((resolve, reject) => {
      const opts = { ...clientCtx.clientOptions(expected), ALPNProtocols: ['http/1.1'] } as https.RequestOptions;
      https.get({ ...opts, host: '127.0.0.1', port: inbound.port, path: '/', agent: false }, (res) => {
        let d = '';
        res.on('data', (c) => (d += c)).on('end', () => resolve(d));
      }).on('error', reject);
    });
  const session = http2.connect(`https://127.0.0.1:${inbound.port}`, { ...clientCtx.clientOptions(expected) } as http2.SecureClientSessionOptions);
  let sessionClosed = false;
  session.on('close', () => (sessionClosed = true));
  session.on('error', () => undefined);
  const onSession = () =>
    new Promise<string>((resolve, reject) => {
      const s = session.request({ ':path': '/' });
      let d = '';
      s.on('data', (c) => (d += c)).on('end', () => resolve(d)).on('error', reject);
      s.end();
    });

  const newRoot = await generateRoot({ trustDomain: TD });
  const renewBoth = async () => {
    await cart.renewNow();
    await web.renewNow();
  };
  const steps: (() => Promise<void>)[] = [
    renewBoth, // leaf rotation
    renewBoth,
    async () => { env.ca.addTrustedRoot(newRoot.certPem); await renewBoth(); }, // 1: trust both roots
    async () => { await env.ca.rotateSigner({ tlsCrt: newRoot.certPem, tlsKey: newRoot.keyPem }); await renewBoth(); }, // 2: sign with the new one
    async () => { env.ca.removeTrustedRoot(env.root.certPem); await renewBoth(); }, // 3: drop the old root
  ];

  const failures: string[] = [];
  let ok = 0;
  const FRESH = 60;
  const ON_SESSION = 120;
  const loopFresh = (async () => {
    for (let i = 0; i < FRESH; i++) {
      if (i % 10 === 5 && steps.length) await steps.shift()!();
      try {
        if ((await fresh()) === 'ok') ok++;
      } catch (e) {
        failures.push(`fresh ${i}: ${classifyTlsError(e).code}`);
      }
    }
  })();
  const loopSession = (async () => {
    for (let i = 0; i < ON_SESSION; i++) {
      try {
        if ((await onSession()) === 'ok') ok++;
      } catch (e) {
        failures.push(`session ${i}: ${(e as Error).message}`);
      }
    }
  })();
  await Promise.all([loopFresh, loopSession]);

  try {
    expect(steps).toHaveLength(0);
    expect(failures).toEqual([]);
    expect(ok).toBe(FRESH + ON_SESSION);
    expect(sessionClosed).toBe(false); // the connection made before every rotation is still up
    expect(await onSession()).toBe('ok');
    // Both sides now hold leaves of the new root, and trust only it.
    for (const p of [cart, web]) {
      const m = p.current()!;
      expect(splitPemCertificates(m.trustBundlePem)).toEqual([newRoot.certPem]);
      expect(new X509Certificate(m.certChainPem).verify(new X509Certificate(newRoot.certPem).publicKey)).toBe(true);
    }
    // A client still holding the pre-rotation leaf and bundle can no longer connect.
    const refusal = await tlsTalk(inbound.port, { key: initialClient.keyPem, cert: initialClient.certChainPem, ca: initialClient.trustBundlePem, checkServerIdentity: () => undefined }).then(
      () => 'connected',
      (e) => classifyTlsError(e).code,
    );
    expect(refusal).toBe('WEFT_ERR_TLS_UNTRUSTED');
  } finally {
    session.close();
    cart.close();
    web.close();
    await inbound.close();
    h1.close();
    h2.close();
    await env.server.close();
  }
});
