/**
 * The admin listener (Envoy's admin, linkerd's :4191): `/metrics` (Prometheus text from the
 * proxy's own Registry), `/ready`, `/live`, `/config_dump`, and `POST /shutdown` (for Jobs).
 * It is a plain http.Server (on localhost unless the bootstrap's `adminBindAddress` says otherwise):
 * it never goes through the proxy stacks. Bound to the pod IP for the kubelet's probes, only
 * loopback peers may use `/config_dump` and `/shutdown` (see `sensitiveAllowed`).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What the admin server reads. */
export interface AdminOptions {
  readonly registry: Registry;
  /** Undefined when ready; otherwise why not (`no config yet`, `no certificate yet`). */
  readonly notReadyReason: () => string | undefined;
  /** The current config with versions, as JSON-serializable data. */
  readonly configDump: () => unknown;
  /** Starts a graceful shutdown (drain then exit); called by POST /shutdown. */
  readonly shutdown: () => void;
  /** Set once draining: /ready then answers 503 so no new traffic is sent. @default - never */
  readonly draining?: () => boolean;
  /**
   * Whether a peer (its socket's remote address) may use `/config_dump` and `POST /shutdown`;
   * others get 403. `/ready`, `/live` and `/metrics` are open to every peer (kubelet, Prometheus).
   * @default - every peer (the listener is on localhost)
   */
  readonly sensitiveAllowed?: (remoteAddress: string | undefined) => boolean;
}

/** Whether `address` (a socket's remote address) is a loopback address: 127.0.0.0/8, ::1, or v4-mapped 127/8. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

const SENSITIVE = new Set(['/config_dump', '/shutdown']);

/** Serializes Maps and Sets and RegExps in the config dump. */
export function dumpReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (value instanceof RegExp) return value.source;
  return value;
}

/** The admin HTTP server. */
export class AdminServer {
  readonly #server: http.Server;

  constructor(opts: AdminOptions) {
    this.#server = http.createServer((req, res) => void this.#serve(opts, req, res).catch((e: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${e.message}\n`);
    }));
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
  }

  async #serve(opts: AdminOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (SENSITIVE.has(path) && opts.sensitiveAllowed && !opts.sensitiveAllowed(req.socket.remoteAddress)) {
      return text(403, `${path} is only served to loopback peers\n`);
    }
    switch (path) {
      case '/metrics': {
        const body = await opts.registry.metrics();
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(body);
        return;
      }
      case '/live':
        return text(200, 'live\n');
      case '/ready': {
        if (opts.draining?.()) return text(503, 'draining\n');
        const why = opts.notReadyReason();
        return why ? text(503, `not ready: ${why}\n`) : text(200, 'ready\n');
      }
      case '/config_dump':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(opts.configDump(), dumpReplacer, 2));
        return;
      case '/shutdown':
        if (req.method !== 'POST') return text(405, 'use POST /shutdown\n');
        text(202, 'shutting down\n');
        opts.shutdown();
        return;
      default:
        return text(404, 'endpoints: /metrics /ready /live /config_dump POST /shutdown\n');
    }
  }

  /** Listens on `host:port`. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo));
    });
  }

  /** Closes the listener and its connections. */
  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
