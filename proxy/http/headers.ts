/**
 * Header hygiene shared by the servers and clients: hop-by-hop stripping (RFC 9110 §7.6.1), the
 * header-count and underscore checks Envoy applies, and the CR/LF/NUL check that keeps a value
 * from one protocol being re-framed as a header injection in the other.
 */
import type { Headers } from '../stack/types';
import { BadRequestError } from './wire-errors';

/** Connection-specific headers that never cross a hop (plus those named in `connection`). */
export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'expect',
]);

/** Copies `raw` (Node's header object) into a weft header map without pseudo or hop-by-hop headers. */
export function fromNodeHeaders(raw: Record<string, string | string[] | undefined>, keepUpgrade = false): Headers {
  const out: Headers = {};
  const connection = raw['connection'];
  // Most requests carry no `connection` header: build the listed set only when there is one.
  const listed = connection === undefined ? undefined : new Set(
    (Array.isArray(connection) ? connection.join(',') : connection)
      .split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
  );
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' */) continue;
    const n = name.toLowerCase();
    if (keepUpgrade && (n === 'upgrade' || n === 'connection')) {
      out[n] = value;
      continue;
    }
    if (HOP_BY_HOP.has(n) || listed?.has(n)) continue;
    out[n] = value;
  }
  return out;
}

/**
 * Fields a trailer section must not carry (RFC 7230 §4.1.2: framing, routing, request modifiers,
 * authentication, response control and payload processing), plus pseudo-headers.
 */
const TRAILER_FORBIDDEN = new Set([
  'transfer-encoding', 'content-length', 'host', 'cache-control', 'expect', 'max-forwards', 'pragma', 'range', 'te',
  'authorization', 'set-cookie', 'content-encoding', 'content-type', 'content-range', 'trailer',
]);

/** The fields of `t` that may be forwarded as trailers (undefined when none remain). */
export function forwardableTrailers(t: Headers | undefined): Headers | undefined {
  if (!t) return undefined;
  let out: Headers | undefined;
  for (const k in t) {
    if (k.charCodeAt(0) === 58 /* ':' */ || TRAILER_FORBIDDEN.has(k) || hasBadValue(t[k])) continue;
    (out ??= {})[k] = t[k];
  }
  return out;
}

// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\r\n\u0000]/;

/** True when a value holds CR, LF or NUL (header injection on a protocol change). */
export function hasBadValue(value: string | string[]): boolean {
  return Array.isArray(value) ? value.some((v) => BAD_VALUE.test(v)) : BAD_VALUE.test(value);
}

/** Options for {@link checkRequestHeaders}. */
export interface HeaderCheckOptions {
  readonly maxHeadersCount: number;
  /**
   * Header list size (RFC 7541 §4.1: name + value + 32 per field) beyond which → 431. HTTP/2 needs
   * it: nghttp2 applies our SETTINGS_MAX_HEADER_LIST_SIZE only once the client ACKs it, so a first
   * HEADERS sent before the ACK would pass. @default - not checked
   */
  readonly maxRequestHeadersBytes?: number;
  readonly underscoreHeaders: 'allow' | 'drop' | 'reject';
}

/**
 * Enforces the header count (431), CR/LF/NUL values (400) and the underscore policy on a
 * `rawHeaders`-style list. Returns the names to drop (underscore `drop` policy).
 */
export function checkRequestHeaders(rawNames: readonly string[], rawValues: readonly string[], opts: HeaderCheckOptions): ReadonlySet<string> {
  let count = 0;
  for (let i = 0; i < rawNames.length; i++) if (rawNames[i].charCodeAt(0) !== 58 /* ':' */) count++;
  if (count > opts.maxHeadersCount) {
    throw new BadRequestError('WEFT_ERR_HEADERS_TOO_LARGE', `request has more than ${opts.maxHeadersCount} headers`, 431);
  }
  let drop: Set<string> | undefined;
  for (let i = 0; i < rawNames.length; i++) {
    if (BAD_VALUE.test(rawValues[i] ?? '')) {
      throw new BadRequestError('WEFT_ERR_BAD_HEADER', `header ${JSON.stringify(rawNames[i])} holds CR, LF or NUL`, 400);
    }
    if (opts.underscoreHeaders !== 'allow' && rawNames[i].includes('_')) {
      if (opts.underscoreHeaders === 'reject') {
        throw new BadRequestError('WEFT_ERR_BAD_HEADER', `header name ${JSON.stringify(rawNames[i])} contains "_"`, 400);
      }
      (drop ??= new Set()).add(rawNames[i].toLowerCase());
    }
  }
  return drop ?? NOTHING_TO_DROP;
}

/**
 * checkRequestHeaders over Node's flat `rawHeaders` list (`[name, value, …]`), without splitting
 * it into two arrays first.
 */
export function checkRawHeaders(raw: readonly string[], opts: HeaderCheckOptions): ReadonlySet<string> {
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].charCodeAt(0) !== 58 /* ':' */) count++;
    bytes += raw[i].length + (raw[i + 1]?.length ?? 0) + 32;
  }
  if (count > opts.maxHeadersCount) {
    throw new BadRequestError('WEFT_ERR_HEADERS_TOO_LARGE', `request has more than ${opts.maxHeadersCount} headers`, 431);
  }
  if (opts.maxRequestHeadersBytes !== undefined && bytes > opts.maxRequestHeadersBytes) {
    throw new BadRequestError('WEFT_ERR_HEADERS_TOO_LARGE', `request headers exceed ${opts.maxRequestHeadersBytes} bytes`, 431);
  }
  let drop: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (BAD_VALUE.test(raw[i + 1] ?? '')) {
      throw new BadRequestError('WEFT_ERR_BAD_HEADER', `header ${JSON.stringify(raw[i])} holds CR, LF or NUL`, 400);
    }
    if (opts.underscoreHeaders !== 'allow' && raw[i].includes('_')) {
      if (opts.underscoreHeaders === 'reject') {
        throw new BadRequestError('WEFT_ERR_BAD_HEADER', `header name ${JSON.stringify(raw[i])} contains "_"`, 400);
      }
      (drop ??= new Set()).add(raw[i].toLowerCase());
    }
  }
  return drop ?? NOTHING_TO_DROP;
}

/** The common answer of checkRequestHeaders (no allocation per request). */
const NOTHING_TO_DROP: ReadonlySet<string> = new Set();

/** Lower-cases and strips the default port from an authority (`Svc:80` → `svc`). */
export function normalizeAuthority(authority: string, scheme: 'http' | 'https'): string {
  const a = authority.trim().toLowerCase();
  if (scheme === 'http' && a.endsWith(':80')) return a.slice(0, -3);
  if (scheme === 'https' && a.endsWith(':443')) return a.slice(0, -4);
  return a;
}

/** True for gRPC content types (`application/grpc`, `application/grpc+proto`, …). */
export function isGrpcContentType(ct: string | string[] | undefined): boolean {
  const v = Array.isArray(ct) ? ct[0] : ct;
  return typeof v === 'string' && /^application\/grpc(\+|;|$)/i.test(v);
}
