/** Opaque TCP: client-side TcpProxy → mTLS (ALPN weft-tcp) → inbound listener → app, with byte counts and reset propagation. */
import * as net from 'node:net';
import { makeCa, makeLeaf } from '../../support/certs';
import { ProxyServer } from '../../../proxy/http/server';
import { TcpProxy, dialTcp, relay } from '../../../proxy/transport/tcp';
import { TlsContexts } from '../../../proxy/transport/tls';
import type { IdentityMaterial } from '../../../proxy/identity/types';
import { closeServer, listen } from '../http/util';

const C = 'spiffe://weft.test/ns/default/sa/client';
const S = 'spiffe://weft.test/ns/default/sa/db';
let app: net.Server;
let inbound: ProxyServer;
let outbound: TcpProxy;
let outboundPort: number;
const counts = { rx: 0, tx: 0 };
const appSockets = new Set<net.Socket>();

beforeAll(async () => {
  const ca = await makeCa();
  const mat = async (id: string): Promise<IdentityMaterial> => {
    const l = await makeLeaf(ca, id);
    return { certChainPem: l.certPem, keyPem: l.keyPem, trustBundlePem: ca.certPem, spiffeId: id, notAfter: new Date(Date.now() + 3_600_000) };
  };
  const cm = await mat(C);
  const sm = await mat(S);
  const clientTls = new TlsContexts({ current: () => cm, onChange: () => () => undefined });
  const serverTls = new TlsContexts({ current: () => sm, onChange: () => () => undefined });
  // a line protocol app: echoes, and "reset" makes it reset the connection
  app = net.createServer((s) => {
    appSockets.add(s);
    s.on('close', () => appSockets.delete(s));
    s.on('data', (d) => (String(d).includes('reset') ? s.resetAndDestroy() : s.write(`echo:${d}`)));
  });
  const appPort = await listen(app);
  inbound = new ProxyServer({
    handler: async () => ({ status: 500, headers: {}, body: null }),
    tls: { options: () => serverTls.serverOptions() },
    onTcp: (s) => void dialTcp({ address: '127.0.0.1', port: appPort }).then((up) => relay(s, up), () => s.destroy()),
  });
  const inboundPort = (await inbound.listen(0)).port;
  outbound = new TcpProxy({
    target: () => ({ address: '127.0.0.1', port: inboundPort, tls: { context: () => clientTls.client(), expectedIdentity: S } }),
    count: (dir, n) => (counts[dir] += n),
  });
  outboundPort = await outbound.listen(0);
});

afterAll(async () => {
  await outbound.drain(0);
  await inbound.close();
  for (const s of appSockets) s.destroy();
  await closeServer(app);
});

test('bytes pass both ways unchanged over mTLS and are counted', async () => {
  const got = await new Promise<string>((resolve) => {
    const s = net.connect(outboundPort, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (out === 'echo:hello') {
        s.end();
        resolve(out);
      }
    });
    s.write('hello');
  });
  expect(got).toBe('echo:hello');
  expect(counts.rx).toBe(5);
  expect(counts.tx).toBe(10);
});

test('an upstream reset reaches the client as an abrupt close, not a clean end', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const s = net.connect(outboundPort, '127.0.0.1');
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
    s.on('end', () => resolve('clean-end'));
    s.on('connect', () => s.write('reset'));
  });
  expect(outcome).toBe('error:ECONNRESET');
});

test('the HTTP listener refuses weft-tcp from a caller with the wrong identity expectation', async () => {
  const bad = new TcpProxy({ target: () => ({ address: '127.0.0.1', port: 1, tls: { context: () => undefined } }) });
  const port = await bad.listen(0);
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('close', () => resolve(true));
    s.on('error', () => undefined);
  });
  expect(closed).toBe(true);
  await bad.drain(0);
});
