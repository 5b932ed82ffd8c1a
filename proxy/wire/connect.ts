/**
 * Dialing and accepting `weft/1` over mTLS: the client offers `weft/1`, `h2`, `http/1.1` by ALPN
 * and gets a WeftSession when the peer selected `weft/1`, or the TLS socket for the older
 * protocol it chose (mixed versions during an upgrade). The server side wraps a selected socket.
 */
import * as tls from 'node:tls';
import { WEFT_ALPN, WireError } from './frames';
import { type SessionOptions, WeftSession } from './session';

/** What a sidecar offers when dialing another sidecar, most preferred first. */
export const SIDECAR_ALPN_OFFER: readonly string[] = [WEFT_ALPN, 'h2', 'http/1.1'];

/** The outcome of a dial: a weft/1 session, or the socket of the protocol an older peer chose. */
export type Dialed =
  | { readonly protocol: typeof WEFT_ALPN; readonly session: WeftSession; readonly socket: tls.TLSSocket }
  | { readonly protocol: 'h2' | 'http/1.1'; readonly session?: undefined; readonly socket: tls.TLSSocket };

/**
 * Dials `opts` (mTLS options: context, checkServerIdentity, …) offering SIDECAR_ALPN_OFFER.
 * Rejects with the TLS error, or WEFT_ERR_WIRE_BAD_FRAME when the peer selected no known protocol.
 */
export function dialSidecar(opts: tls.ConnectionOptions, session: Omit<SessionOptions, 'role' | 'onStream'> = {}): Promise<Dialed> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...opts, ALPNProtocols: [...SIDECAR_ALPN_OFFER] });
    socket.setNoDelay(true);
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      const p = socket.alpnProtocol;
      if (p === WEFT_ALPN) resolve({ protocol: WEFT_ALPN, socket, session: new WeftSession(socket, { ...session, role: 'client' }) });
      else if (p === 'h2' || p === 'http/1.1') resolve({ protocol: p, socket });
      else {
        socket.destroy();
        reject(new WireError('WEFT_ERR_WIRE_BAD_FRAME', `the peer selected no known protocol (${String(p)})`));
      }
    });
  });
}

/** Server side: a session for a TLS socket whose ALPN selected `weft/1`, else undefined (serve it as before). */
export function acceptSidecar(socket: tls.TLSSocket, opts: Omit<SessionOptions, 'role'>): WeftSession | undefined {
  if (socket.alpnProtocol !== WEFT_ALPN) return undefined;
  socket.setNoDelay(true);
  return new WeftSession(socket, { ...opts, role: 'server' });
}
