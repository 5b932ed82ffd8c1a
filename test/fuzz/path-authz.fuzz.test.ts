/**
 * Fuzz tier (issue 12 item 7): random paths and header sets through the real normalizer
 * (proxy/http/path.ts), header checks (proxy/http/headers.ts, client-cert.ts) and authorizer
 * (api/authz.ts), against a reference model: WHATWG URL path parsing (`new URL`), which is how
 * Node apps and most frameworks read a path. Fixed seed, bounded runs.
 */
import * as fc from 'fast-check';
import { authorize } from '../../api/authz';
import { DEFAULT_LIMITS } from '../../proxy/http/limits';
import { normalizePath } from '../../proxy/http/path';
import { checkRawHeaders, fromNodeHeaders, HOP_BY_HOP } from '../../proxy/http/headers';
import { forwardClientCert, XFCC_HEADER } from '../../proxy/http/client-cert';
import { cartPolicies } from '../support/policy-sidecar';

const SEED = 12;
const RUNS = 1000;
const run = { seed: SEED, numRuns: RUNS };

/** What a WHATWG parser reads as the path of an origin-form target. */
const whatwg = (target: string): string => new URL(`http://h${target.split('?')[0]}`).pathname;
/** RFC 3986 §6.2.2 on the model side: unreserved escapes decoded once, the others upper-cased. */
const canon = (p: string): string => p.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
  const ch = String.fromCharCode(parseInt(hex, 16));
  return /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${hex.toUpperCase()}`;
});

const segment = fc.constantFrom('a', 'admin', 'public', 'x', '.', '..', '%2e', '%2E%2e', '.%2e', '%2e.', '%61dmin', '%5C', '%5c', '%2F', '%25', '%252e', 'a%2eb', '..%2e', '~', '');
const sep = fc.constantFrom('/', '\\');
const path = fc.tuple(fc.array(fc.tuple(sep, segment), { minLength: 1, maxLength: 10 }), fc.option(fc.constantFrom('?q=/../admin', '?\\..'), { nil: undefined }))
  .map(([parts, query]) => '/' + parts.map(([s, g], i) => (i === 0 ? g : s + g)).join('') + (query ?? ''));
const escaped = fc.constantFrom('keep' as const, 'unescape' as const);

const DENY_ADMIN = cartPolicies([{ name: 'no-admin', action: 'DENY', to: [{ paths: ['/admin', '/admin/*'] }] }]);
const ALLOW_PUBLIC = cartPolicies([{ name: 'public', action: 'ALLOW', to: [{ methods: ['GET'], paths: ['/public/*'] }] }]);
const verdict = (policies: typeof DENY_ADMIN, p: string): boolean => authorize(policies, { port: 8080, path: p, method: 'GET' }).allowed;

test('the app (WHATWG) reads exactly the path that was judged: normalize(p) is a fixed point of WHATWG parsing', () => {
  fc.assert(fc.property(path, escaped, (p, escapedSlashes) => {
    const out = normalizePath(p, { ...DEFAULT_LIMITS, escapedSlashes });
    const judged = out.split('?')[0];
    expect(whatwg(out)).toBe(judged);
    expect(judged).not.toMatch(/\\/);
    expect(normalizePath(out, { ...DEFAULT_LIMITS, escapedSlashes })).toBe(out);
  }), run);
});

test('without empty segments, normalize(p) equals the model: canon(WHATWG(p)), and authz agrees on both', () => {
  fc.assert(fc.property(path.filter((p) => !/[/\\]{2}/.test(p.split('?')[0]) && !/(^|[/\\])(%2F|%5C|%5c)/.test(p)), (p) => {
    const out = normalizePath(p, DEFAULT_LIMITS).split('?')[0];
    const model = canon(whatwg(p));
    expect(out).toBe(model);
    expect(verdict(DENY_ADMIN, out)).toBe(verdict(DENY_ADMIN, model));
    expect(verdict(ALLOW_PUBLIC, out)).toBe(verdict(ALLOW_PUBLIC, model));
  }), run);
});

// The sidecar forwards the normalized path, so what the app reads is WHATWG(out) (= out, by the first
// property), not WHATWG of the raw target: e.g. `/%61dmin/%5C/%2E%2e` with `unescape` is judged and
// forwarded as `/`, although a WHATWG parser given the raw target would read `/admin/`.
test('a path the model reads as /admin… is never allowed past DENY /admin, nor past ALLOW /public/* unless the model is under /public/', () => {
  fc.assert(fc.property(path, escaped, (p, escapedSlashes) => {
    const out = normalizePath(p, { ...DEFAULT_LIMITS, escapedSlashes }).split('?')[0];
    const app = canon(whatwg(out));
    if (app === '/admin' || app.startsWith('/admin/')) expect(verdict(DENY_ADMIN, out)).toBe(false);
    if (verdict(ALLOW_PUBLIC, out)) expect(app.startsWith('/public/')).toBe(true);
  }), run);
});

const headerName = fc.oneof(
  fc.constantFrom('host', 'connection', 'te', 'transfer-encoding', 'upgrade', 'keep-alive', XFCC_HEADER, 'x-forwarded-for', 'x_under', 'content-length'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
);
const headerValue = fc.oneof(fc.stringMatching(/^[ -~]{0,20}$/), fc.constantFrom('a\r\nx-injected: 1', 'a\nb', 'a\u0000b', 'x-secret, te', 'close'));

test('header sets: the checks either refuse with a coded 400/431 or pass; nothing hop-by-hop, injected or client-XFCC survives', () => {
  fc.assert(fc.property(fc.array(fc.tuple(headerName, headerValue), { maxLength: 120 }), fc.boolean(), (pairs, tls) => {
    const raw = pairs.flat();
    let drop: ReadonlySet<string>;
    try {
      drop = checkRawHeaders(raw, { ...DEFAULT_LIMITS, underscoreHeaders: 'drop' });
    } catch (e) {
      expect(e).toMatchObject({ code: expect.stringMatching(/^WEFT_ERR_(BAD_HEADER|HEADERS_TOO_LARGE)$/) });
      const bad = pairs.some(([, v]) => /[\r\n\0]/.test(v));
      expect(bad || pairs.length > DEFAULT_LIMITS.maxHeadersCount).toBe(true);
      return;
    }
    expect(pairs.some(([, v]) => /[\r\n\0]/.test(v))).toBe(false);
    const node: Record<string, string> = {};
    for (const [n, v] of pairs) node[n] = v;
    const h = fromNodeHeaders(node);
    for (const d of drop) delete h[d];
    for (const k of Object.keys(h)) {
      expect(HOP_BY_HOP.has(k)).toBe(false);
      expect(k.includes('_')).toBe(false);
    }
    const peer = tls ? { address: '127.0.0.1', port: 1, tls: true, identity: 'spiffe://td/ns/a/sa/b', certSha256: 'ab' } : { address: '127.0.0.1', port: 1, tls: false };
    const out = forwardClientCert(h, peer, 'spiffe://td/ns/c/sa/d', 'sanitize_set');
    expect(out[XFCC_HEADER]).toBe(tls ? 'By=spiffe://td/ns/c/sa/d;Hash=ab;URI=spiffe://td/ns/a/sa/b' : undefined);
  }), { seed: SEED, numRuns: 1000 });
});
