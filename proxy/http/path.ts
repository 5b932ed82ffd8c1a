/**
 * Path normalization before routing and authz, so `/a/../admin`, `//admin`, `/%61dmin` and
 * `/x/..\admin` all match (and are denied) as the `/admin` a WHATWG app sees: Envoy's normalize_path
 * (which folds `\` into `/`) + merge_slashes + path_with_escaped_slashes_action, applied to the path
 * only (the query is kept verbatim). Engine-independent: the HTTP/1.1 and HTTP/2 servers call
 * `normalizePath`, and so does the lean engine's `serveWeftStream` (proxy/wire/stack-adapter.ts).
 */
import { BadRequestError } from './wire-errors';

/** How to normalize; the fields mirror HttpLimits. */
export interface PathOptions {
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly escapedSlashes: 'keep' | 'reject' | 'unescape';
  /**
   * A raw `\` (also one unescaped from `%5C` when `escapedSlashes` is `unescape`; with the default
   * `keep`, `%5C` is forwarded encoded, as Envoy and WHATWG parsers keep it): `slash` reads it as `/` before dot segments are
   * removed, as WHATWG URL parsers (Node's `new URL`, browsers, most frameworks) and Envoy's
   * normalize_path do; `reject` answers 400; `keep` forwards it untouched (unsafe: the app may read
   * `/x/..\admin` as `/admin` while authz judged another path).
   */
  readonly backslash: 'slash' | 'reject' | 'keep';
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decodes percent-escapes of unreserved characters and upper-cases the rest (RFC 3986 §6.2.2). */
function canonicalEscapes(path: string, escapedSlashes: PathOptions['escapedSlashes']): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    if (UNRESERVED.test(ch)) return ch;
    const upper = `%${hex.toUpperCase()}`;
    if (upper === '%2F' || upper === '%5C') {
      if (escapedSlashes === 'reject') throw new BadRequestError('WEFT_ERR_BAD_PATH', `escaped slash ${upper} in path`, 400);
      if (escapedSlashes === 'unescape') return upper === '%2F' ? '/' : '\\';
    }
    return upper;
  });
}

/** RFC 3986 §5.2.4 remove_dot_segments; `..` above the root stays at the root. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      if (out.length > 0) out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return '/' + out.join('/');
}

/**
 * Normalizes the path part of `target` (`/a/../b?x=1` → `/b?x=1`). Throws `WEFT_ERR_BAD_PATH`
 * (400) for a path that does not start with `/`, holds raw control characters or `#`, or an
 * escaped slash when `escapedSlashes` is `reject`.
 */
export function normalizePath(target: string, opts: PathOptions): string {
  if (target === '*') return target;
  const q = target.indexOf('?');
  let path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  if (!path.startsWith('/')) throw new BadRequestError('WEFT_ERR_BAD_PATH', `path must start with "/": ${JSON.stringify(target.slice(0, 64))}`, 400);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f#]/.test(path)) throw new BadRequestError('WEFT_ERR_BAD_PATH', 'path holds a control character, space or "#"', 400);
  // Fast path (most requests): no escape, no `//`, no `/.`, no `\` means every step below is the identity.
  if (path.indexOf('%') === -1 && path.indexOf('//') === -1 && path.indexOf('/.') === -1 && path.indexOf('\\') === -1) return target;
  if (opts.normalizePath || opts.escapedSlashes !== 'keep') path = canonicalEscapes(path, opts.escapedSlashes);
  // after unescaping (so `%5C` → `\` is caught too) and before dot segments (so `..\` is one)
  if (opts.backslash !== 'keep' && path.indexOf('\\') !== -1) {
    if (opts.backslash === 'reject') throw new BadRequestError('WEFT_ERR_BAD_PATH', 'backslash in path', 400);
    path = path.replace(/\\/g, '/');
  }
  if (opts.mergeSlashes) path = path.replace(/\/{2,}/g, '/');
  if (opts.normalizePath) path = removeDotSegments(path);
  return path + query;
}
