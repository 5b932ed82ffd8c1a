/**
 * A proxy listener: one TCP port that serves HTTP/1.1, h2c (prior knowledge) and, when given a
 * TLS context, TLS with ALPN (h2 / http/1.1) — sniffing the first bytes of each connection, as
 * linkerd2-proxy's protocol detection does. Owns connection caps and graceful drain.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import type { Handler } from '../stack/types';
import { type HttpLimits, resolveLimits } from './limits';
import type { OverloadManager } from './overload';
import { createH1Server } from './h1-server';
import { createH2Server } from './h2-server';
import { type ErrorResponder, defaultErrorResponder } from './exchange';
import { TCP_ALPN, rawSockets } from '../transport/tcp';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** TLS termination for a listener. */
export interface ServerTlsOptions {
  /**
   * The current certificate options (called per connection; a new object means the certificate
   * rotated and the next handshake uses it). Undefined → TLS connections are refused.
   */
  readonly options: () => tls.SecureContextOptions | undefined;
  /** Require and verify a client certificate (mTLS). @default true */
  readonly requireClientCert?: boolean;
  /** Also accept plaintext connections (PERMISSIVE). @default false */
  readonly permissive?: boolean;
}

/** Options of {@link ProxyServer}. */
export interface ProxyServerOptions {
  /** Serves every request. */
  readonly handler: Handler;
  /** Maps handler errors to responses. @default defaultErrorResponder */
  readonly onError?: ErrorResponder;
  /** Hardening limits. @default DEFAULT_LIMITS */
  readonly limits?: Partial<HttpLimits>;
  /** Terminate TLS. @default - plaintext only */
  readonly tls?: ServerTlsOptions;
  /** Sheds requests while overloaded. @default - never sheds */
  readonly overload?: OverloadManager;
  /** Authority for HTTP/1.0 requests without Host. @default - 400 */
  readonly defaultAuthority?: string;
  /** Called for each accepted connection (metrics). */
  readonly onConnection?: (socket: net.Socket, open: number) => void;
  /**
   * Opaque TCP from another sidecar (mTLS with ALPN `weft-tcp`). The socket is verified; the
   * callback relays it. @default - `weft-tcp` is not offered
   */
  readonly onTcp?: (socket: tls.TLSSocket) => void;
}

/** One listening port. */
export class ProxyServer {
  readonly limits: HttpLimits;
  readonly #net: net.Server;
  readonly #h1: http.Server;
  readonly #h2: http2.Http2Server;
  readonly #sockets = new Set<net.Socket>();
  /** Open connections per source address (the per-source cap). */
  readonly #perSource = new Map<string, number>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #opts: ProxyServerOptions;
  #tlsServer: tls.Server | undefined;
  /** TCP sockets in a TLS handshake, by remote address:port (to pair them with their TLS socket). */
  readonly #handshaking = new Map<string, net.Socket>();
  #tlsOptions: tls.SecureContextOptions | undefined;
  #draining = false;

  constructor(opts: ProxyServerOptions) {
    this.#opts = opts;
    this.limits = resolveLimits(opts.limits);
    const onError = opts.onError ?? defaultErrorResponder;
    this.#h1 = createH1Server({
      handler: opts.handler, onError, limits: this.limits, overload: opts.overload,
      draining: () => this.#draining, defaultAuthority: opts.defaultAuthority,
    });
    this.#h2 = createH2Server({ handler: opts.handler, onError, limits: this.limits, overload: opts.overload });
    this.#h2.on('session', (s: http2.ServerHttp2Session) => {
      this.#sessions.add(s);
      s.on('close', () => this.#sessions.delete(s));
      if (this.#draining) s.goaway();
    });
    this.#net = net.createServer({ pauseOnConnect: false, noDelay: true }, (socket) => this.#accept(socket));
    this.#net.maxConnections = this.limits.maxConnections;
  }

  /** Open downstream connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Listens; resolves with the bound address. */
  listen(port: number, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(port, host, () => {
        this.#net.off('error', reject);
        resolve(this.#net.address() as net.AddressInfo);
      });
    });
  }

  #accept(socket: net.Socket): void {
    // one source may not take the whole listener (10,000 idle h2c connections from one peer locked
    // everyone else out): past its share, its new connections are closed before a byte is read
    const source = socket.remoteAddress ?? '';
    const held = this.#perSource.get(source) ?? 0;
    if (held >= this.limits.maxConnectionsPerSource) {
      socket.destroy();
      return;
    }
    this.#perSource.set(source, held + 1);
    this.#sockets.add(socket);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      const n = (this.#perSource.get(source) ?? 1) - 1;
      if (n > 0) this.#perSource.set(source, n);
      else this.#perSource.delete(source);
    });
    socket.on('error', () => socket.destroy());
    this.#opts.onConnection?.(socket, this.#sockets.size);
    // a connection that never sends a byte is closed after the headers timeout (slowloris)
    socket.setTimeout(this.limits.headersTimeoutMs, () => socket.destroy());
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const kind = sniff(buf, this.#opts.tls !== undefined);
      if (kind === 'more') return;
      socket.off('data', onData);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(buf);
      this.#dispatch(socket, kind);
    };
    socket.on('data', onData);
  }

  #dispatch(socket: net.Socket, kind: 'tls' | 'h2' | 'h1'): void {
    const t = this.#opts.tls;
    if (kind === 'tls') {
      const acceptor = t ? this.#acceptor(t) : undefined;
      if (!acceptor) {
        socket.destroy();
        return;
      }
      // the tls.Server verifies the client certificate and reads the unshifted ClientHello
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      this.#handshaking.set(key, socket);
      socket.once('close', () => this.#handshaking.delete(key));
      acceptor.emit('connection', socket);
      return;
    }
    if (t && !t.permissive) {
      // STRICT mTLS: plaintext is refused (fail closed)
      socket.destroy();
      return;
    }
    if (kind === 'h2') {
      // the session reads the unshifted bytes itself and then owns the handle
      this.#h2.emit('connection', socket);
    } else {
      this.#h1.emit('connection', socket);
      socket.resume();
    }
  }

  /** A non-listening tls.Server doing handshakes, re-keyed when the certificate rotates. */
  #acceptor(t: ServerTlsOptions): tls.Server | undefined {
    const opts = t.options();
    if (!opts) return undefined;
    const requireCert = t.requireClientCert ?? true;
    if (!this.#tlsServer) {
      const server = tls.createServer({
        ...opts, requestCert: requireCert, rejectUnauthorized: requireCert,
        ALPNProtocols: this.#opts.onTcp ? ['h2', 'http/1.1', TCP_ALPN] : ['h2', 'http/1.1'],
        handshakeTimeout: this.limits.headersTimeoutMs,
      });
      server.on('tlsClientError', (_err, s: tls.TLSSocket) => s.destroy());
      server.on('secureConnection', (s: tls.TLSSocket) => {
        s.on('error', () => s.destroy());
        const key = `${s.remoteAddress}:${s.remotePort}`;
        const raw = this.#handshaking.get(key);
        if (raw) {
          rawSockets.set(s, raw);
          this.#handshaking.delete(key);
        }
        if (s.alpnProtocol === 'h2') this.#h2.emit('connection', s);
        else if (s.alpnProtocol === TCP_ALPN && this.#opts.onTcp) this.#opts.onTcp(s);
        else this.#h1.emit('connection', s);
      });
      this.#tlsServer = server;
    } else if (opts !== this.#tlsOptions) {
      this.#tlsServer.setSecureContext(opts);
    }
    this.#tlsOptions = opts;
    return this.#tlsServer;
  }

  /**
   * Graceful drain: stop accepting, close idle HTTP/1.1 connections (busy ones close after their
   * response), GOAWAY every HTTP/2 session; after `timeoutMs` destroy what is left.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    this.#net.close();
    this.#h1.closeIdleConnections();
    for (const s of this.#sessions) s.close();
    const deadline = Date.now() + timeoutMs;
    while (this.#sockets.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      this.#h1.closeIdleConnections();
    }
    for (const s of this.#sockets) s.destroy();
    this.#shut();
  }

  /** Closes at once (tests, errors). */
  async close(): Promise<void> {
    this.#draining = true;
    this.#net.close();
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#sockets) s.destroy();
    this.#shut();
  }

  #shut(): void {
    this.#h1.close(() => undefined);
    this.#h2.close(() => undefined);
  }
}

/** Classifies a connection from its first bytes. */
function sniff(buf: Buffer, tlsEnabled: boolean): 'tls' | 'h2' | 'h1' | 'more' {
  if (buf.length === 0) return 'more';
  if (tlsEnabled && buf[0] === 0x16) return 'tls';
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return n === H2_PREFACE.length ? 'h2' : 'more';
  return 'h1';
}
