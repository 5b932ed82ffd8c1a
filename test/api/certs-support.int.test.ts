import * as tls from 'node:tls';
import { once } from 'node:events';
import { makeCa, makeLeaf } from '../support/certs';

test('test PKI leaves complete a real mutual TLS handshake and carry the SPIFFE URI SAN', async () => {
  const ca = await makeCa();
  const server = await makeLeaf(ca, 'spiffe://t.local/ns/a/sa/server');
  const client = await makeLeaf(ca, 'spiffe://t.local/ns/a/sa/client');
  const srv = tls.createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (s) => {
    s.end((s.getPeerCertificate().subjectaltname ?? '') + '\n');
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  const sock = tls.connect({ port, host: '127.0.0.1', cert: client.certPem, key: client.keyPem, ca: ca.certPem, checkServerIdentity: () => undefined });
  let data = '';
  sock.on('data', (d) => (data += d));
  await once(sock, 'end');
  srv.close();
  expect(sock.getPeerCertificate().subjectaltname).toContain('URI:spiffe://t.local/ns/a/sa/server');
  expect(data).toContain('URI:spiffe://t.local/ns/a/sa/client');
});
