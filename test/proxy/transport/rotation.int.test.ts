/** Certificate rotation: new connections get the new certificate at once; no restart. */
import * as tls from 'node:tls';
import { makeCa, makeLeaf } from '../../support/certs';
import { ProxyServer } from '../../../proxy/http/server';
import { TlsContexts } from '../../../proxy/transport/tls';
import type { IdentityMaterial } from '../../../proxy/identity/types';

test('after a rotation the listener presents the new certificate to new connections', async () => {
  const ca = await makeCa();
  const id = 'spiffe://weft.test/ns/default/sa/server';
  const mat = async (): Promise<IdentityMaterial> => {
    const l = await makeLeaf(ca, id);
    return { certChainPem: l.certPem, keyPem: l.keyPem, trustBundlePem: ca.certPem, spiffeId: id, notAfter: new Date(Date.now() + 3_600_000) };
  };
  let current = await mat();
  const listeners = new Set<(m: IdentityMaterial) => void>();
  const contexts = new TlsContexts({ current: () => current, onChange: (l) => (listeners.add(l), () => listeners.delete(l)) });
  const client = await mat();
  const p = new ProxyServer({ handler: async () => ({ status: 204, headers: {}, body: null }), tls: { options: () => contexts.serverOptions() } });
  const port = (await p.listen(0)).port;
  const serial = (): Promise<string> => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, cert: client.certChainPem, key: client.keyPem, ca: ca.certPem, checkServerIdentity: () => undefined });
    s.on('secureConnect', () => {
      resolve(s.getPeerX509Certificate()!.serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });
  const first = await serial();
  current = await mat();
  for (const l of listeners) l(current);
  const second = await serial();
  expect(second).not.toBe(first);
  expect(second).toBe(new (await import('node:crypto')).X509Certificate(current.certChainPem).serialNumber);
  await p.close();
  contexts.close();
});
