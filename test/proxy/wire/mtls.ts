/** A weft/1 test bed on real mTLS sockets: a CA, two SPIFFE identities, a server that accepts sessions. */
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { makeCa, makeLeaf } from '../../support/certs';
import { spiffeCheck } from '../../../proxy/transport/tls';
import { acceptSidecar, dialSidecar, type Dialed } from '../../../proxy/wire/connect';
import type { SessionOptions, WeftSession } from '../../../proxy/wire/session';
import { WEFT_ALPN } from '../../../proxy/wire/frames';

export const SERVER_ID = 'spiffe://test.local/ns/default/sa/server';
export const CLIENT_ID = 'spiffe://test.local/ns/default/sa/client';

export interface Pki {
  readonly ca: string;
  readonly server: { certPem: string; keyPem: string };
  readonly client: { certPem: string; keyPem: string };
}

export async function makePki(): Promise<Pki> {
  const ca = await makeCa();
  return { ca: ca.certPem, server: await makeLeaf(ca, SERVER_ID), client: await makeLeaf(ca, CLIENT_ID) };
}

/** A listening mTLS server; every weft/1 connection becomes a session with `opts`. */
export async function weftServer(pki: Pki, opts: Omit<SessionOptions, 'role'>, alpn: string[] = [WEFT_ALPN, 'h2', 'http/1.1']): Promise<{ port: number; sessions: WeftSession[]; sockets: tls.TLSSocket[]; close(): Promise<void> }> {
  const sessions: WeftSession[] = [];
  const sockets: tls.TLSSocket[] = [];
  const server = tls.createServer({
    key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.ca,
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', ALPNProtocols: alpn,
  }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    const s = acceptSidecar(socket, opts);
    if (s) sessions.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Dials the server as the client identity, checking the server's SPIFFE ID. */
export function dial(pki: Pki, port: number, opts: Omit<SessionOptions, 'role' | 'onStream'> = {}): Promise<Dialed> {
  return dialSidecar({
    host: '127.0.0.1', port, key: pki.client.keyPem, cert: pki.client.certPem, ca: pki.ca,
    minVersion: 'TLSv1.3', checkServerIdentity: spiffeCheck(SERVER_ID),
  }, opts);
}
