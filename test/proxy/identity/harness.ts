/** Test harness for identity tests: a real CA gRPC server, CA-backed proxies, an mTLS echo server and a manual clock. */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { BootstrapTokenAuthenticator } from '../../../control-plane/ca/authn';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { generateRoot } from '../../../control-plane/ca/pki';
import { CaServer, startCaServer } from '../../../control-plane/ca/service';
import { CaClientIdentityProvider, CaClientProps } from '../../../proxy/identity/ca-client';
import type { Clock } from '../../../proxy/identity/clock';
import { InboundConnection, InboundTls } from '../../../proxy/identity/inbound';
import { TlsContexts } from '../../../proxy/identity/tls';
import type { MtlsModeName } from '../../../api/resources';

export const TD = 'shop.local';
export const idOf = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;

/** A CA with a generated root, served over gRPC on 127.0.0.1:0 with bootstrap tokens. */
export async function startCa(opts: { ttlMs?: number; now?: () => number } = {}) {
  const root = await generateRoot({ trustDomain: TD });
  const ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: root.certPem, tlsKey: root.keyPem }, certificateTtlMs: opts.ttlMs, now: opts.now });
  const tokens = new BootstrapTokenAuthenticator();
  const refused: string[] = [];
  const server: CaServer = await startCaServer(ca, { authenticator: tokens, onRefused: (code) => refused.push(code) });
  return { ca, root, tokens, server, refused };
}

/** A proxy identity from the CA for ns/sa (bootstrap token minted here). */
export function proxyIdentity(caEnv: Awaited<ReturnType<typeof startCa>>, ns: string, sa: string, extra: Partial<CaClientProps> = {}) {
  return new CaClientIdentityProvider({ address: caEnv.server.address, trustDomain: TD, credential: caEnv.tokens.mint({ namespace: ns, serviceAccount: sa }), minRetryMs: 20, maxRetryMs: 100, ...extra });
}

/** An inbound listener gated by InboundTls; `onConn` gets each accepted connection; refusals are recorded by code. */
export async function startInbound(contexts: TlsContexts, mode: MtlsModeName, onConn: (c: InboundConnection) => void, clock?: Clock) {
  const gate = new InboundTls({ contexts, clock });
  const refused: string[] = [];
  const waiters: ((code: string) => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    gate.accept(s, mode).then(onConn, (e) => {
      refused.push(e.code);
      waiters.shift()?.(e.code);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    refused,
    /** Resolves with the code of the next refusal. */
    nextRefusal: () => new Promise<string>((r) => waiters.push(r)),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Echo of the verified identity, for the server side: writes "<tls> <identity>\n" and ends. */
export const sayIdentity = (c: InboundConnection) => {
  c.socket.on('error', () => undefined);
  c.socket.end(`${c.tls} ${c.identity ?? '-'} ${c.alpn ?? '-'}\n`);
};

/** Connects with TLS options and collects what the server says; rejects with the socket error. */
export function tlsTalk(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...options });
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('error', reject);
    s.on('close', () => (data ? resolve(data) : reject(Object.assign(new Error('closed without data'), { code: 'CLOSED' }))));
  });
}

/** Plaintext request; resolves with what came back (empty when the server closed on us). */
export function plainTalk(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('error', () => resolve(data));
    s.on('close', () => resolve(data));
  });
}

/** A clock tests move by hand; timers fire in due order on `advance`. */
export class ManualClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  constructor(public t = Date.now()) {}
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  /** Timers due at or before now + ms, fired in order (the clock stops at each). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
  pending(): number {
    return this.timers.length;
  }
}
