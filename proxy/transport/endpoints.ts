/**
 * The endpoint client factory the stacks call (`deps.endpointClient`): one pooled client per
 * endpoint, picking the wire protocol. Between sidecars (mTLS) the configured sidecar transport
 * is used — pooled HTTP/1.1 or multiplexed HTTP/2 — except that gRPC always rides HTTP/2 (it
 * needs trailers) and Upgrade requests always ride HTTP/1.1 (h2 has no Upgrade).
 */
import type { Handler, ProxyRequest } from '../stack/types';
import { H1Endpoint } from '../http/client-h1';
import { H2Endpoint } from '../http/client-h2';
import type { TlsContexts } from './tls';

/** The endpoint a stack wants to reach. */
export interface EndpointTarget {
  readonly address: string;
  readonly port: number;
  /** Present when the endpoint is another sidecar reached over mTLS. */
  readonly tls?: { readonly expectedIdentity?: string };
  /** The application protocol of the port. */
  readonly protocol: 'http1' | 'http2';
}

/**
 * The default protocol between sidecars: the one bench/proxy measured faster (docs/proxy.md,
 * "Benchmark"); the other stays selectable.
 */
export const DEFAULT_SIDECAR_PROTOCOL: 'http1' | 'http2' = 'http2';

/** Options of {@link EndpointClients}. */
export interface EndpointClientsOptions {
  /** mTLS material; without it `tls` targets fail with WEFT_ERR_CONNECT_FAILURE. @default - none */
  readonly tls?: TlsContexts;
  /** Protocol between sidecars. @default DEFAULT_SIDECAR_PROTOCOL */
  readonly sidecarProtocol?: 'http1' | 'http2';
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
}

/** Caches one client per (address, port, tls, identity, protocol). */
export class EndpointClients {
  readonly #h1 = new Map<string, H1Endpoint>();
  readonly #h2 = new Map<string, H2Endpoint>();
  readonly #opts: EndpointClientsOptions;

  constructor(opts: EndpointClientsOptions = {}) {
    this.#opts = opts;
  }

  /** The `endpointClient` dependency of the inbound/outbound stacks. */
  readonly endpointClient = (ep: EndpointTarget): Handler => {
    const key = `${ep.address}|${ep.port}|${ep.tls ? `tls:${ep.tls.expectedIdentity ?? '*'}` : 'plain'}`;
    const tlsOpt = ep.tls ? { context: () => this.#opts.tls?.client(), expectedIdentity: ep.tls.expectedIdentity } : undefined;
    const h1 = (): Handler => {
      let c = this.#h1.get(key);
      if (!c) {
        // No pool bound: the balancer's per-host cap (per cluster, in front of this shared client)
        // is the only one, so a request past it is queued as pending or shed, never parked in the
        // Agent's own unbounded queue (docs/proxy.md, "Per-host connection cap").
        c = new H1Endpoint({ address: ep.address, port: ep.port, tls: tlsOpt, connectTimeoutMs: this.#opts.connectTimeoutMs, maxSockets: Number.POSITIVE_INFINITY });
        this.#h1.set(key, c);
      }
      return c.handler;
    };
    const h2 = (): Handler => {
      let c = this.#h2.get(key);
      if (!c) {
        c = new H2Endpoint({ address: ep.address, port: ep.port, tls: tlsOpt, connectTimeoutMs: this.#opts.connectTimeoutMs });
        this.#h2.set(key, c);
      }
      return c.handler;
    };
    const sidecar = this.#opts.sidecarProtocol ?? DEFAULT_SIDECAR_PROTOCOL;
    const usesH1 = (req: ProxyRequest): boolean => {
      if (req.headers['upgrade'] !== undefined) return true;
      if (ep.tls) return !(req.grpc || sidecar === 'http2');
      return ep.protocol !== 'http2';
    };
    const handler: Handler = (req) => (usesH1(req) ? h1() : h2())(req);
    // the balancer calls close() when no cluster uses this endpoint any more, and counts HTTP/1.1
    // requests (one pooled connection each) against the per-host connection cap; closeIdle() when
    // the endpoint left the config but still carries requests
    return Object.assign(handler, { close: () => this.#forget(key), closeIdle: () => this.#h1.get(key)?.closeIdle(), connectionPerRequest: usesH1 });
  };

  #forget(key: string): void {
    this.#h1.get(key)?.close();
    this.#h2.get(key)?.close();
    this.#h1.delete(key);
    this.#h2.delete(key);
  }

  /** Closes every pooled connection. */
  close(): void {
    for (const c of this.#h1.values()) c.close();
    for (const c of this.#h2.values()) c.close();
    this.#h1.clear();
    this.#h2.clear();
  }
}
