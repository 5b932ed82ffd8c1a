/** The sidecar transport's TLS contexts come from the identity module's options, with TLS 1.3 as the floor. */
import * as tls from 'node:tls';
import { makeCa, makeLeaf } from '../../support/certs';
import { SIDECAR_MIN_TLS, TlsContexts } from '../../../proxy/transport/tls';
import { secureContextOptions } from '../../../proxy/identity/tls';
import type { IdentityMaterial } from '../../../proxy/identity/types';

const ID = 'spiffe://weft.test/ns/default/sa/server';

test('serverOptions are secureContextOptions(material, TLS 1.3); a TLS 1.2 client is refused, TLS 1.3 accepted', async () => {
  const ca = await makeCa();
  const leaf = await makeLeaf(ca, ID);
  const m: IdentityMaterial = { certChainPem: leaf.certPem, keyPem: leaf.keyPem, trustBundlePem: ca.certPem, spiffeId: ID, notAfter: new Date(Date.now() + 86_400_000) };
  const ctx = new TlsContexts({ current: () => m, onChange: () => () => undefined });
  expect(SIDECAR_MIN_TLS).toBe('TLSv1.3');
  expect(ctx.serverOptions()).toEqual(secureContextOptions(m, 'TLSv1.3'));
  const server = tls.createServer({ ...ctx.serverOptions() }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dial = (maxVersion: tls.SecureVersion) => new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, maxVersion, checkServerIdentity: () => undefined });
    s.on('secureConnect', () => {
      resolve(s.getProtocol() ?? '?');
      s.destroy();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      resolve(`error ${e.code ?? e.message}`);
      s.destroy();
    });
  });
  try {
    expect(await dial('TLSv1.2')).toMatch(/^error/);
    expect(await dial('TLSv1.3')).toBe('TLSv1.3');
  } finally {
    ctx.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
