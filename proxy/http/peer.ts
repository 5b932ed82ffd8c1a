/** Who is on the other end of a downstream socket: address, port and, over mTLS, the SPIFFE ID. */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Peer } from '../stack/types';

const cache = new WeakMap<object, Peer>();

/** The SPIFFE URI SAN of a certificate's subjectAltName string, if any. */
export function spiffeIdOf(subjectAltName: string | undefined): string | undefined {
  for (const part of (subjectAltName ?? '').split(',')) {
    const p = part.trim();
    if (p.startsWith('URI:spiffe://')) return p.slice(4);
  }
  return undefined;
}

/** The peer of `socket` (cached per socket: the certificate is parsed once per connection). */
export function peerOf(socket: Socket | TLSSocket | import('node:stream').Duplex): Peer {
  const hit = cache.get(socket);
  if (hit) return hit;
  const s = socket as Socket;
  let peer: Peer = { address: s.remoteAddress ?? '', port: s.remotePort ?? 0, tls: false };
  if (socket instanceof TLSSocket) {
    const cert = socket.authorized ? socket.getPeerX509Certificate() : undefined;
    peer = { ...peer, tls: true, identity: spiffeIdOf(cert?.subjectAltName), certSha256: cert?.fingerprint256.replace(/:/g, '').toLowerCase() };
  }
  cache.set(socket, peer);
  return peer;
}
