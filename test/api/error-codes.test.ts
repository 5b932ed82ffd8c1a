/**
 * The error registry is complete and used: every `WEFT_ERR_…` literal in the sources is registered,
 * every registered code is used by some source, every `weft-error` reason is registered, and
 * docs/errors.md is the current rendering of the registry.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ERROR_CODES, WEFT_ERROR_REASONS, isRegisteredCode } from '../../api/error-codes';
import { renderErrorsDoc } from '../../api/error-codes-doc';
import * as proxyErrors from '../../proxy/http/errors';
import * as wireErrors from '../../proxy/http/wire-errors';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['api', 'constructs', 'control-plane', 'proxy', 'cli', 'stacks', 'bin', 'image', 'package'];
const REGISTRY = 'api/error-codes.ts';
/** A full code: never a prefix such as `WEFT_ERR_SELF_CHECK_*` or `'WEFT_ERR_'.length`. */
const CODE = /\bWEFT_(?:ERR|WARN)_[A-Z0-9]+(?:_[A-Z0-9]+)*(?![A-Za-z0-9_])/g;

interface Source { readonly file: string; readonly text: string }

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|js|sh)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
}

function sources(): Source[] {
  const files: string[] = [];
  for (const d of SOURCE_DIRS) walk(join(ROOT, d), files);
  return files.map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') })).filter((s) => s.file !== REGISTRY);
}

/** Drops comments, so a code cited only in a comment does not count as used. */
function code(text: string, file: string): string {
  if (file.endsWith('.sh')) return text.replace(/^\s*#.*$/gm, '');
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const SRC = sources();

test('GIVEN the sources THEN every WEFT_ERR_ literal (code or comment) is in api/error-codes.ts', () => {
  const missing = new Map<string, string[]>();
  for (const s of SRC) {
    s.text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(CODE)) {
        if (!isRegisteredCode(m[0])) missing.set(m[0], [...(missing.get(m[0]) ?? []), `${s.file}:${i + 1}`]);
      }
    });
  }
  const lines = [...missing].sort(([a], [b]) => a.localeCompare(b)).map(([c, where]) => `  ${c}: { part: '<api|constructs|control-plane|proxy|cli|stacks|image>', meaning: '…', fix: '…' },   // used at ${where.slice(0, 3).join(', ')}`);
  const message = lines.length
    ? `${lines.length} code(s) used but not registered. Add one line each to ERROR_CODES in ${REGISTRY} (or fix a comment citing a code that does not exist), then run \`npm run docs:errors\`:\n${lines.join('\n')}`
    : '';
  expect(message).toBe('');
});

test('GIVEN the registry THEN every code in it is thrown, logged or sent by some source (not only cited in a comment)', () => {
  const used = new Set<string>();
  for (const s of SRC) for (const m of code(s.text, s.file).matchAll(CODE)) used.add(m[0]);
  const unused = Object.keys(ERROR_CODES).filter((c) => !used.has(c));
  const message = unused.length ? `registered in ${REGISTRY} but used by no source (remove the entry or use the code): ${unused.join(', ')}` : '';
  expect(message).toBe('');
});

test('GIVEN every ProxyError the proxy can raise THEN its reason is a registered weft-error reason with the same code', () => {
  const made: { code: string; reason: string }[] = [];
  for (const mod of [proxyErrors, wireErrors] as Record<string, unknown>[]) {
    for (const [name, ctor] of Object.entries(mod)) {
      if (typeof ctor !== 'function' || name === 'ProxyError' || !(ctor.prototype instanceof proxyErrors.ProxyError)) continue;
      const C = ctor as new (...args: unknown[]) => proxyErrors.ProxyError;
      if (C === (proxyErrors.TimeoutError as unknown)) for (const k of ['timeout', 'per_try_timeout', 'stream_timeout']) made.push(new C(k, 1));
      else if (C === (wireErrors.BadRequestError as unknown)) for (const c of ['WEFT_ERR_BAD_REQUEST', 'WEFT_ERR_HEADERS_TOO_LARGE', 'WEFT_ERR_BAD_PATH', 'WEFT_ERR_BAD_HEADER']) made.push(new C(c, 'x', 400));
      else made.push(new C('x', 'y'));
    }
  }
  expect(made.length).toBeGreaterThanOrEqual(18);
  const bad = made.filter((e) => {
    const r = (WEFT_ERROR_REASONS as Record<string, { code?: string }>)[e.reason];
    return !r || r.code !== e.code;
  });
  expect(bad.map((e) => `${e.reason} (${e.code})`)).toEqual([]);
});

test('GIVEN the sources THEN every literal weft-error reason written outside ProxyError is registered', () => {
  // `weft-error: token` in a raw head, `'weft-error': 'token'`, `[WEFT_ERROR_HEADER]: \`token…`, `super('WEFT_ERR_…', 'token'`
  const patterns = [/weft-error: ([a-z_]+)/g, /'weft-error':\s*'([a-z_]+)'/g, /\[WEFT_ERROR_HEADER\]:\s*[`'"]([a-z_]+)/g, /super\('WEFT_ERR_[A-Z0-9_]+',\s*'([a-z_]+)'/g];
  const found = new Map<string, string>();
  for (const s of SRC.filter((x) => x.file.startsWith('proxy/') || x.file.startsWith('cli/'))) {
    const text = code(s.text, s.file);
    for (const p of patterns) for (const m of text.matchAll(p)) found.set(m[1], s.file);
  }
  expect(found.size).toBeGreaterThanOrEqual(4);
  const missing = [...found].filter(([r]) => !(r in WEFT_ERROR_REASONS)).map(([r, f]) => `${r} (${f}): add \`${r}: { status, meaning }\` to WEFT_ERROR_REASONS in ${REGISTRY}`);
  expect(missing).toEqual([]);
});

test('GIVEN a weft-error reason backed by a code THEN the code is registered', () => {
  for (const r of Object.values(WEFT_ERROR_REASONS)) if ('code' in r) expect(isRegisteredCode(r.code)).toBe(true);
});

test('GIVEN the registry THEN docs/errors.md is its current rendering (run `npm run docs:errors` after a change)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  expect(doc).toBe(renderErrorsDoc());
  for (const c of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${c}\``);
});

test('GIVEN the construct validation codes THEN each is registered with the same meaning and fix (docs/constructs.md and docs/errors.md agree)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { VALIDATION_CODES } = require('../../constructs/errors') as { VALIDATION_CODES: Record<string, readonly [string, string]> };
  const registry = ERROR_CODES as Record<string, { meaning: string; fix: string } | undefined>;
  const differ = Object.entries(VALIDATION_CODES)
    .filter(([c, [meaning, fix]]) => registry[c]?.meaning !== meaning || registry[c]?.fix !== fix)
    .map(([c, [meaning, fix]]) => `${c}: { part: 'constructs', meaning: ${JSON.stringify(meaning)}, fix: ${JSON.stringify(fix)} },`);
  expect(differ).toEqual([]);
});
