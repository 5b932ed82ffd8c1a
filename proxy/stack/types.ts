/**
 * The proxy's request path is a chain of small layers over one protocol-neutral request type
 * (linkerd2-proxy stacks, undici `compose`). HTTP/1.1, HTTP/2 and gRPC servers turn their
 * streams into a `ProxyRequest`; clients turn a `ProxyRequest` back into a wire request.
 */
import type { Readable } from 'node:stream';

/** Header map with lower-case names; repeated headers are arrays (set-cookie). */
export type Headers = Record<string, string | string[]>;

/** Where a request came from, as far as the proxy knows. */
export interface Peer {
  readonly address: string;
  readonly port: number;
  /** Verified SPIFFE ID of the peer's client certificate, when it connected with mTLS. */
  readonly identity?: string;
  /** Lower-case hex SHA-256 of the peer's verified DER certificate (the XFCC `Hash`), when it connected with mTLS. */
  readonly certSha256?: string;
  readonly tls: boolean;
}

/** One request travelling through the layers. Layers may replace `headers`/`body` by copying the request. */
export interface ProxyRequest {
  readonly method: string;
  /** Host / :authority, lower-case, without default port. */
  readonly authority: string;
  /** Path with query (`/a?b=c`), already normalized by the server. */
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly headers: Headers;
  /** The request body; `null` when there is none. */
  readonly body: Readable | null;
  /**
   * Request trailers, resolved when the body ends (undefined when none came). Present only when
   * the request has a body that can carry them (HTTP/2, chunked HTTP/1.1). @default - none
   */
  readonly trailers?: Promise<Headers | undefined>;
  /** Whether this is gRPC (content-type application/grpc*), so errors become grpc-status. */
  readonly grpc: boolean;
  /** HTTP version the downstream spoke. */
  readonly httpVersion: '1.1' | '2';
  readonly peer: Peer;
  /** Aborted when the downstream goes away or a deadline passes. */
  readonly signal: AbortSignal;
  /** Per-request facts layers leave for later layers (route name, cluster, endpoint, try count). */
  readonly meta: Map<string, unknown>;
}

/** The response a layer hands back up. */
export interface ProxyResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The response body; `null` when empty. */
  readonly body: Readable | null;
  /** Trailers, resolved when the body ends (gRPC status lives here). */
  readonly trailers?: Promise<Headers | undefined>;
}

/** Serves one request. Rejects with a `ProxyError` (see http/errors) for proxy-made failures. */
export type Handler = (req: ProxyRequest) => Promise<ProxyResponse>;

/** Wraps a handler with one concern (timeout, retry, balance, metrics, authz…). */
export type Layer = (next: Handler) => Handler;

/** Composes layers outermost first: `compose(a, b)(h)` = `a(b(h))`. */
export function compose(...layers: Layer[]): Layer {
  for (const [i, l] of layers.entries()) {
    if (typeof l !== 'function') throw new TypeError(`compose: layer ${i} is not a function`);
  }
  return (inner) => layers.reduceRight((h, l) => l(h), inner);
}
