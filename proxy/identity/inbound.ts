/**
 * The inbound TLS gate: tell TLS from plaintext on one port by the first byte (a TLS record
 * starts 0x16), refuse plaintext under STRICT, and terminate mTLS with a verified SPIFFE peer —
 * never an unverified one, even under PERMISSIVE (Istio PeerAuthentication semantics).
 */
import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { MtlsModeName } from '../../api/resources';
import { Clock, systemClock } from './clock';
import { TLS_ERRORS, TlsError, classifyTlsError } from './errors';
import { ALPN_PROTOCOLS, TlsContexts, secureContextOptions, verifyPeer } from './tls';
import type { IdentityMaterial } from './types';

/** First byte of a TLS handshake record (ClientHello). */
const TLS_HANDSHAKE = 0x16;

/**
 * Whether the client opened with TLS, by peeking at its first byte. The bytes read are pushed
 * back (`unshift`), so whoever takes the socket next (tls.Server, http.Server) sees all of them.
 * A client silent for `timeoutMs` is taken for plaintext (server-speaks-first protocols); one that
 * closes before sending anything rejects with WEFT_ERR_TLS_HANDSHAKE.
 */
export function detectTls(socket: net.Socket, opts: { timeoutMs?: number } = {}): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      socket.removeListener('error', onError);
      fn();
    };
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null || chunk.length === 0) return;
      done(() => {
        socket.unshift(chunk);
        resolve(chunk[0] === TLS_HANDSHAKE);
      });
    };
    const onEnd = () => done(() => reject(new TlsError(TLS_ERRORS.HANDSHAKE, 'connection closed before the first byte')));
    const onError = (e: Error) => done(() => reject(classifyTlsError(e)));
    const timer = setTimeout(() => done(() => resolve(false)), opts.timeoutMs ?? 10_000);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    onReadable(); // bytes may already be buffered
  });
}

/** An accepted inbound connection, ready for the HTTP servers. */
export interface InboundConnection {
  /** The TLS socket (mTLS) or the original socket (plaintext). */
  readonly socket: net.Socket;
  readonly tls: boolean;
  /** Verified SPIFFE ID of the peer (mTLS only). */
  readonly identity?: string;
  /** Negotiated ALPN protocol (`h2` / `http/1.1`), mTLS only. */
  readonly alpn?: string;
}

/** Props of an InboundTls gate. */
export interface InboundTlsProps {
  /** Secure contexts of the current identity. */
  readonly contexts: TlsContexts;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Deadline of a TLS handshake. @default 10000 */
  readonly handshakeTimeoutMs?: number;
  /** How long to wait for a first byte before taking the client for plaintext. @default 10000 */
  readonly detectTimeoutMs?: number;
}

/** The raw socket a server-side TLSSocket wraps (Node keeps it as `_parent`). */
const rawOf = (t: tls.TLSSocket): net.Socket | undefined => (t as unknown as { _parent?: net.Socket })._parent;

/**
 * Accepts inbound connections under an mTLS mode. One gate serves every inbound port; its
 * internal tls.Server never listens, sockets are handed to it after detection, and it takes the
 * current identity for each new connection (rotation never touches open ones).
 */
export class InboundTls {
  private server: tls.Server | undefined;
  private serverMaterial: IdentityMaterial | undefined;
  private readonly pending = new Map<net.Socket, { resolve: (c: InboundConnection) => void; reject: (e: Error) => void }>();
  private readonly clock: Clock;

  constructor(private readonly props: InboundTlsProps) {
    this.clock = props.clock ?? systemClock;
  }

  /**
   * Accepts `socket` under `mode`: DISABLE passes it through; PERMISSIVE takes plaintext or mTLS;
   * STRICT takes only mTLS. Rejects with a coded TlsError (and destroys the socket) on refusal.
   */
  public async accept(socket: net.Socket, mode: MtlsModeName): Promise<InboundConnection> {
    if (mode === 'DISABLE') return { socket, tls: false };
    let isTls: boolean;
    try {
      isTls = await detectTls(socket, { timeoutMs: this.props.detectTimeoutMs });
    } catch (e) {
      socket.destroy();
      throw e;
    }
    if (!isTls) {
      if (mode === 'PERMISSIVE') return { socket, tls: false };
      socket.destroy();
      throw new TlsError(TLS_ERRORS.PLAINTEXT_REFUSED, 'plaintext on a STRICT mTLS port');
    }
    let server: tls.Server;
    try {
      server = this.tlsServer();
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return new Promise<InboundConnection>((resolve, reject) => {
      this.pending.set(socket, { resolve, reject });
      // Whatever the TLS layer reports (or fails to), a closed socket settles the accept.
      socket.once('close', () => this.settleRaw(socket, undefined, new TlsError(TLS_ERRORS.HANDSHAKE, 'connection closed during the TLS handshake')));
      server.emit('connection', socket);
    });
  }

  /** The never-listening tls.Server, its context kept on the current material. */
  private tlsServer(): tls.Server {
    const m = this.props.contexts.material(); // throws WEFT_ERR_TLS_NO_IDENTITY: fail closed
    if (!this.server) {
      const s = tls.createServer({
        ...secureContextOptions(m),
        requestCert: true,
        rejectUnauthorized: false, // verified in onSecure, so each refusal has its own code
        ALPNProtocols: [...ALPN_PROTOCOLS],
        handshakeTimeout: this.props.handshakeTimeoutMs ?? 10_000,
      });
      s.on('secureConnection', (t) => this.onSecure(t));
      s.on('tlsClientError', (e, t) => this.settle(t, undefined, classifyTlsError(e)));
      this.server = s;
    } else if (this.serverMaterial !== m) {
      this.server.setSecureContext(secureContextOptions(m));
    }
    this.serverMaterial = m;
    return this.server;
  }

  private onSecure(t: tls.TLSSocket): void {
    try {
      const identity = verifyPeer(t, { trustDomain: this.props.contexts.trustDomain(), clock: this.clock });
      this.settle(t, { socket: t, tls: true, identity, alpn: t.alpnProtocol || undefined });
    } catch (e) {
      t.destroy();
      this.settle(t, undefined, e as Error);
    }
  }

  private settle(t: tls.TLSSocket, conn: InboundConnection | undefined, err?: Error): void {
    if (!conn) t.destroy();
    const raw = rawOf(t);
    if (raw) this.settleRaw(raw, conn, err);
  }

  private settleRaw(raw: net.Socket, conn: InboundConnection | undefined, err?: Error): void {
    const p = this.pending.get(raw);
    if (!p) return;
    this.pending.delete(raw);
    if (conn) p.resolve(conn);
    else {
      raw.destroy();
      p.reject(err ?? new TlsError(TLS_ERRORS.HANDSHAKE, 'handshake failed'));
    }
  }
}
