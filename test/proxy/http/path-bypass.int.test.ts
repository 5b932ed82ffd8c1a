/**
 * F1 (issue 12): every path-confusion bypass, table-driven, first through the real normalizer and
 * the real authorizer (api/authz.ts), then through a running sidecar over real sockets (HTTP/1.1
 * raw and h2c). A `\` is read as `/` by WHATWG parsers (Node's `new URL`, most frameworks), so the
 * sidecar must judge `/x/..\admin` as the `/admin` the app will see.
 */
import * as http2 from 'node:http2';
import { authorize } from '../../../api/authz';
import { DEFAULT_LIMITS } from '../../../proxy/http/limits';
import { normalizePath } from '../../../proxy/http/path';
import type { RunningProxy } from '../../../proxy/main';
import { cartPolicies, PolicySidecarHarness } from '../../support/policy-sidecar';
import { h2get, raw } from './util';

const DENY_ADMIN = [{ name: 'no-admin', action: 'DENY', to: [{ paths: ['/admin', '/admin/*'] }] }];
const ALLOW_PUBLIC = [{ name: 'public-reads', action: 'ALLOW', to: [{ methods: ['GET'], paths: ['/public/*'] }] }];
type Escaped = 'keep' | 'unescape';
type Row = [name: string, rules: 'deny-admin' | 'allow-public', target: string, escapedSlashes: Escaped, verdict: 'deny' | 'allow', appPath: string];

// appPath: what the app receives when allowed ('' for denials; jest.each rows need a fixed arity)
const rows: Row[] = [
  // the bypasses of the issue
  ['F1 backslash after ..', 'deny-admin', '/x/..\\admin', 'keep', 'deny', ''],
  ['F1 leading backslash', 'deny-admin', '/\\admin', 'keep', 'deny', ''],
  ['F1 backslash inside', 'deny-admin', '/admin\\x', 'keep', 'deny', ''],
  ['F1 %5C with unescape', 'deny-admin', '/x/..%5Cadmin', 'unescape', 'deny', ''],
  ['F1 %5c with unescape', 'deny-admin', '/x/..%5cadmin', 'unescape', 'deny', ''],
  ['F1 ALLOW prefix escaped by backslash', 'allow-public', '/public/..\\admin', 'keep', 'deny', ''],
  ['F1 ALLOW prefix escaped by %5C + unescape', 'allow-public', '/public/..%5Cadmin', 'unescape', 'deny', ''],
  // the ones that already held
  ['plain', 'deny-admin', '/admin', 'keep', 'deny', ''],
  ['escaped unreserved', 'deny-admin', '/%61dmin', 'keep', 'deny', ''],
  ['double slash', 'deny-admin', '//admin', 'keep', 'deny', ''],
  ['dot segment', 'deny-admin', '/x/../admin', 'keep', 'deny', ''],
  ['escaped dot segment', 'deny-admin', '/%2e%2e/admin', 'keep', 'deny', ''],
  ['ALLOW prefix escaped by ..', 'allow-public', '/public/../admin', 'keep', 'deny', ''],
  ['ALLOW prefix escaped by %2e%2e', 'allow-public', '/public/%2e%2e/admin', 'keep', 'deny', ''],
  // allowed: the app sees exactly the path that was judged
  ['other path', 'deny-admin', '/items', 'keep', 'allow', '/items'],
  ['%5C kept (WHATWG does not decode it either)', 'deny-admin', '/x/..%5Cadmin', 'keep', 'allow', '/x/..%5Cadmin'],
  ['public', 'allow-public', '/public/a', 'keep', 'allow', '/public/a'],
  ['public, backslash folded', 'allow-public', '/public\\a', 'keep', 'allow', '/public/a'],
  ['%5C kept under ALLOW', 'allow-public', '/public/..%5Cadmin', 'keep', 'allow', '/public/..%5Cadmin'],
];

const rulesOf = (r: Row[1]): unknown[] => (r === 'deny-admin' ? DENY_ADMIN : ALLOW_PUBLIC);

describe('through the real normalizer and authorizer', () => {
  test.each(rows)('%s: %s %s (escapedSlashes %s) → %s', (_n, rules, target, escapedSlashes, verdict, appPath) => {
    const path = normalizePath(target, { ...DEFAULT_LIMITS, escapedSlashes });
    const d = authorize(cartPolicies(rulesOf(rules)), { port: 8080, path, method: 'GET' });
    expect(d.allowed ? 'allow' : 'deny').toBe(verdict);
    // what a WHATWG app reads from the forwarded path is the path that was judged
    expect(new URL(`http://h${path}`).pathname).toBe(path);
    if (appPath) expect(path).toBe(appPath);
  });

  test('backslash: reject → coded 400; keep → forwarded raw (Envoy without normalize_path)', () => {
    expect(() => normalizePath('/x/..\\admin', { ...DEFAULT_LIMITS, backslash: 'reject' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_BAD_PATH', status: 400 }));
    expect(normalizePath('/x\\y', { ...DEFAULT_LIMITS, backslash: 'keep' })).toBe('/x\\y');
    expect(normalizePath('/x/..%5Cadmin?q=\\', DEFAULT_LIMITS)).toBe('/x/..%5Cadmin?q=\\');
    expect(normalizePath('/a\\..\\b?q=\\..', DEFAULT_LIMITS)).toBe('/b?q=\\..');
  });
});

describe('through a running sidecar (real sockets)', () => {
  const h = new PolicySidecarHarness();
  const sidecars = new Map<string, RunningProxy>();
  beforeAll(async () => {
    await h.start();
    for (const rules of ['deny-admin', 'allow-public'] as const) {
      for (const escapedSlashes of ['keep', 'unescape'] as const) {
        sidecars.set(`${rules}/${escapedSlashes}`, await h.sidecar(rulesOf(rules), escapedSlashes === 'keep' ? undefined : { escapedSlashes }));
      }
    }
  });
  afterAll(() => h.stop());

  test.each(rows)('HTTP/1.1 %s: %s %s (escapedSlashes %s) → %s', async (_n, rules, target, escapedSlashes, verdict, appPath) => {
    const port = sidecars.get(`${rules}/${escapedSlashes}`)!.ports.inbound;
    const before = h.seen.length;
    const r = await raw(port, `GET ${target} HTTP/1.1\r\nhost: cart.shop:8080\r\nconnection: close\r\n\r\n`);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r.text)?.[1]);
    expect(status).toBe(verdict === 'deny' ? 403 : 200);
    if (verdict === 'deny') expect(h.seen.length).toBe(before);
    else expect(h.seen.slice(before).map((s) => s.url)).toEqual([appPath]);
  });

  test.each(rows)('HTTP/2 %s: %s %s (escapedSlashes %s) → %s', async (_n, rules, target, escapedSlashes, verdict, appPath) => {
    const port = sidecars.get(`${rules}/${escapedSlashes}`)!.ports.inbound;
    const before = h.seen.length;
    const s = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const r = await h2get(s, { ':path': target, ':authority': 'cart.shop:8080' });
      expect(r.headers[':status']).toBe(verdict === 'deny' ? 403 : 200);
      if (verdict === 'deny') expect(h.seen.length).toBe(before);
      else expect(h.seen.slice(before).map((x) => x.url)).toEqual([appPath]);
    } finally {
      s.destroy();
    }
  });
});
