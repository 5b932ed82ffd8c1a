/**
 * Hardening limits for every HTTP server the proxy runs, with Envoy's defaults (and its edge
 * best practice where Envoy's default is unsafe). Resolved once with `??`; servers read only this.
 */

import type { Bootstrap } from '../../api/bootstrap';
import { parseDuration } from '../../api/duration';

/** Limits a server enforces. Every field has an Envoy-derived default. */
export interface HttpLimits {
  /** Total request header bytes; beyond → 431. @default 61440 (Envoy max_request_headers_kb 60) */
  readonly maxRequestHeadersBytes: number;
  /** Request header fields; beyond → 431 (counted by us: Node would silently truncate). @default 100 (Envoy max_headers_count) */
  readonly maxHeadersCount: number;
  /** Time to receive a complete request head (slowloris). @default 10000 */
  readonly headersTimeoutMs: number;
  /** How often Node checks the headers timeout (Node's own default is 30 s). @default 1000 */
  readonly connectionsCheckingIntervalMs: number;
  /** A stream (or HTTP/1.1 socket) with no activity is reset. @default 300000 (Envoy stream_idle_timeout 5 min) */
  readonly streamIdleTimeoutMs: number;
  /** An idle keep-alive connection (no request in flight) is closed. @default 3600000 (Envoy idle_timeout 1 h) */
  readonly idleTimeoutMs: number;
  /** Open downstream connections per listener; more are refused. @default 10000 */
  readonly maxConnections: number;
  /**
   * Open downstream connections per listener from one source address; more from that address are
   * closed at accept, so one peer cannot exhaust `maxConnections` for everyone else. @default 1024
   */
  readonly maxConnectionsPerSource: number;
  /** HTTP/2 concurrent streams per connection. @default 100 (Envoy edge practice) */
  readonly h2MaxConcurrentStreams: number;
  /** HTTP/2 initial stream window. @default 65535 (Envoy edge practice 64 KiB) */
  readonly h2StreamWindowBytes: number;
  /** HTTP/2 connection window. @default 1048576 (Envoy edge practice 1 MiB) */
  readonly h2ConnectionWindowBytes: number;
  /** Header names with `_`: allow, drop the header, or reject the request (400). @default 'allow' (Envoy ALLOW) */
  readonly underscoreHeaders: 'allow' | 'drop' | 'reject';
  /** Resolve `.`/`..` segments (RFC 3986) before routing and authz. @default true */
  readonly normalizePath: boolean;
  /** Merge `//` into `/`. @default true */
  readonly mergeSlashes: boolean;
  /** What to do with `%2F`/`%5C` in a path: keep, reject (400) or unescape before normalizing. @default 'keep' (Envoy KEEP_UNCHANGED) */
  readonly escapedSlashes: 'keep' | 'reject' | 'unescape';
  /**
   * A `\` in a path: read as `/` before dot segments are removed (what WHATWG parsers, Envoy's
   * normalize_path and Istio's BASE do), reject (400), or keep (unsafe, see docs/security.md).
   * @default 'slash'
   */
  readonly backslash: 'slash' | 'reject' | 'keep';
}

/** Envoy-derived defaults; see docs/proxy.md for the comparison table. */
export const DEFAULT_LIMITS: HttpLimits = Object.freeze({
  maxRequestHeadersBytes: 60 * 1024,
  maxHeadersCount: 100,
  headersTimeoutMs: 10_000,
  connectionsCheckingIntervalMs: 1_000,
  streamIdleTimeoutMs: 300_000,
  idleTimeoutMs: 3_600_000,
  maxConnections: 10_000,
  maxConnectionsPerSource: 1024,
  h2MaxConcurrentStreams: 100,
  h2StreamWindowBytes: 65_535,
  h2ConnectionWindowBytes: 1024 * 1024,
  underscoreHeaders: 'allow',
  normalizePath: true,
  mergeSlashes: true,
  escapedSlashes: 'keep',
  backslash: 'slash',
});

/** The bootstrap's `http` section (Envoy-named options, api/bootstrap.ts) as limit overrides. */
export function limitsFromBootstrap(h: Bootstrap['http']): Partial<HttpLimits> {
  if (!h) return {};
  const ms = (v: string | undefined, name: string): number | undefined => (v === undefined ? undefined : parseDuration(v, `http.${name}`));
  return {
    normalizePath: h.normalizePath,
    mergeSlashes: h.mergeSlashes,
    escapedSlashes: h.escapedSlashes,
    backslash: h.backslash,
    underscoreHeaders: h.underscoreHeaders,
    maxRequestHeadersBytes: h.maxRequestHeadersKb === undefined ? undefined : h.maxRequestHeadersKb * 1024,
    maxHeadersCount: h.maxHeadersCount,
    headersTimeoutMs: ms(h.requestHeadersTimeout, 'requestHeadersTimeout'),
    streamIdleTimeoutMs: ms(h.streamIdleTimeout, 'streamIdleTimeout'),
    idleTimeoutMs: ms(h.idleTimeout, 'idleTimeout'),
    maxConnections: h.maxConnections,
    maxConnectionsPerSource: h.maxConnectionsPerSource,
  };
}

/** Fills the gaps in `partial` from the defaults. */
export function resolveLimits(partial: Partial<HttpLimits> = {}): HttpLimits {
  const out: Record<string, unknown> = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) out[k] = v;
  return Object.freeze(out) as unknown as HttpLimits;
}
