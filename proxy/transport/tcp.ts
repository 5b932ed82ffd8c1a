/**
 * Opaque TCP for `tcp` ports: bytes are relayed unchanged, half-close is forwarded, and an abrupt
 * close (error or RST) on one side resets the other — never turned into a clean FIN. Between
 * sidecars the bytes ride mTLS with ALPN `weft-tcp`, so the inbound listener can tell them from HTTP.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { spiffeCheck } from './tls';

/** ALPN protocol id of opaque TCP between sidecars. */
export const TCP_ALPN = 'weft-tcp';

/**
 * TLS socket → the TCP socket under it. An RST must be sent on the TCP socket: destroying the
 * TLS socket closes with a FIN, which the peer cannot tell from a clean end.
 */
export const rawSockets = new WeakMap<net.Socket, net.Socket>();

/** Byte counters of one relayed connection. */
export type ByteCounter = (direction: 'rx' | 'tx', bytes: number) => void;

/** Relays `down` ↔ `up` until both are closed. */
export function relay(down: net.Socket, up: net.Socket, count?: ByteCounter): void {
  const reset = (s: net.Socket): void => {
    if (s.destroyed) return;
    const raw = rawSockets.get(s) ?? s;
    if (!raw.destroyed && !(raw instanceof tls.TLSSocket)) raw.resetAndDestroy();
    s.destroy();
  };
  down.on('error', () => reset(up));
  up.on('error', () => reset(down));
  down.on('close', (hadError) => (hadError ? reset(up) : undefined));
  up.on('close', (hadError) => (hadError ? reset(down) : undefined));
  if (count) {
    down.on('data', (d: Buffer) => count('rx', d.length));
    up.on('data', (d: Buffer) => count('tx', d.length));
  }
  down.pipe(up);
  up.pipe(down);
}

/** Where an opaque TCP connection goes. */
export interface TcpTarget {
  readonly address: string;
  readonly port: number;
  /** mTLS to another sidecar. @default - plaintext */
  readonly tls?: {
    readonly context: () => tls.SecureContext | undefined;
    readonly expectedIdentity?: string;
    /** SNI sent to the peer sidecar (names the service port: proxy/listeners/inbound-tcp.ts). @default - none */
    readonly serverName?: string;
  };
}

/** Dials `t` (plain or mTLS with ALPN weft-tcp); resolves once connected (and verified). */
export function dialTcp(t: TcpTarget, timeoutMs = 5000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const ctx = t.tls?.context();
    if (t.tls && !ctx) return reject(new Error('no client certificate yet'));
    const raw = net.connect({ host: t.address, port: t.port });
    // TLS over our own TCP socket, so relay() can reset that socket underneath
    const s = t.tls
      ? tls.connect({ socket: raw, secureContext: ctx, ALPNProtocols: [TCP_ALPN], rejectUnauthorized: true, checkServerIdentity: spiffeCheck(t.tls.expectedIdentity), ...(t.tls.serverName ? { servername: t.tls.serverName } : {}) })
      : raw;
    if (t.tls) {
      raw.on('error', (e) => s.destroy(e));
      rawSockets.set(s, raw);
    }
    const timer = setTimeout(() => s.destroy(new Error(`connect to ${t.address}:${t.port} timed out`)), timeoutMs);
    s.once(t.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      if (t.tls && (s as tls.TLSSocket).alpnProtocol !== TCP_ALPN) {
        s.destroy();
        reject(new Error(`peer ${t.address}:${t.port} does not speak ${TCP_ALPN}`));
        return;
      }
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Options of {@link TcpProxy}. */
export interface TcpProxyOptions {
  /** Picks the target per connection (undefined → the connection is closed). */
  readonly target: () => TcpTarget | undefined;
  readonly count?: ByteCounter;
  /** Accepted connections beyond this are refused. @default 10000 */
  readonly maxConnections?: number;
  readonly onConnection?: (socket: net.Socket) => void;
}

/** A TCP listener relaying each connection to a target. */
export class TcpProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  constructor(opts: TcpProxyOptions) {
    this.#server = net.createServer({ pauseOnConnect: true }, (down) => {
      this.#sockets.add(down);
      down.on('close', () => this.#sockets.delete(down));
      down.on('error', () => undefined);
      opts.onConnection?.(down);
      const target = opts.target();
      if (!target) {
        down.destroy();
        return;
      }
      dialTcp(target).then((up) => {
        this.#sockets.add(up);
        up.on('close', () => this.#sockets.delete(up));
        relay(down, up, opts.count);
        down.resume();
      }, () => down.destroy());
    });
    this.#server.maxConnections = opts.maxConnections ?? 10_000;
  }

  /** Listens; resolves the bound port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as net.AddressInfo).port));
    });
  }

  /** Stops accepting; open relays continue until `timeoutMs`, then are destroyed. */
  async drain(timeoutMs: number): Promise<void> {
    this.#server.close();
    const deadline = Date.now() + timeoutMs;
    while (this.#sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const s of this.#sockets) s.destroy();
  }
}
