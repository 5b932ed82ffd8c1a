/**
 * The part boundaries of docs/architecture.md, checked on every import of the source tree: the
 * direction between parts, each part reached only through its entry point, and examples/ imported
 * by no part. Tests, bench/ and bin/ are outside the parts and may import anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** The parts and the parts each may import (docs/architecture.md, "Import direction"). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  api: [],
  constructs: ['api'],
  'control-plane': ['api'],
  proxy: ['api'],
  stacks: ['constructs', 'api'],
  cli: ['control-plane', 'proxy', 'constructs', 'api'],
};
const PARTS = Object.keys(MAY_IMPORT);

/**
 * api/ is the contract: each top-level module is public (a barrel would make every importer load the
 * protobuf definitions and the CRD generator); these are its internals, reached through build-model.ts.
 */
const API_INTERNALS = ['api/build-route.ts', 'api/build-policy.ts'];

/**
 * Imports allowed, each with its reason. stacks/index.ts is this repository's Pulumi program: it
 * deploys the bundled bookinfo example (config.ts maps its stack config to the example's props) through
 * the reusable WeftMesh component, which imports no example.
 */
const ALLOWED: readonly { readonly from: string; readonly to: string }[] = [
  { from: 'stacks/index.ts', to: 'examples/bookinfo/mesh.ts' },
  { from: 'stacks/config.ts', to: 'examples/bookinfo/mesh.ts' }, // the program's stack config → the example's props (a type)
];

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = path.posix.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sources(rel);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Relative module specifiers of `import … from`, `export … from`, `import '…'`, `import('…')`, `require('…')`. */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]*)\1/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[2]);
  return out;
}

/** The file a relative specifier names (`x` → `x.ts` or `x/index.ts`), repo-relative. */
function resolve(from: string, spec: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const c of [base, `${base}.ts`, `${base}/index.ts`, `${base}.js`]) {
    if (fs.existsSync(path.join(ROOT, c)) && fs.statSync(path.join(ROOT, c)).isFile()) return c;
  }
  return base;
}

const partOf = (file: string): string | undefined => file.split('/')[0];

/** Every problem with one import, in words (empty when it is fine). */
function problemsOf(from: string, to: string): string[] {
  const src = partOf(from)!;
  const dst = partOf(to)!;
  if (ALLOWED.some((a) => a.from === from && a.to === to)) return [];
  if (dst === 'examples') return [`${from} imports ${to}: no part imports examples/ (user code; cli runs it by path)`];
  if (!PARTS.includes(dst) || dst === src) return [];
  if (!MAY_IMPORT[src].includes(dst)) return [`${from} imports ${to}: ${src} may import only ${MAY_IMPORT[src].join(', ') || 'no other part'}`];
  if (dst === 'api') return API_INTERNALS.includes(to) ? [`${from} imports ${to}: an api/ internal (use api/build-model.ts)`] : [];
  if (to !== `${dst}/index.ts`) return [`${from} imports ${to}: import ${dst}/ through its entry point ${dst}/index.ts`];
  return [];
}

function allProblems(): string[] {
  return PARTS.flatMap((part) => sources(part)).flatMap((file) =>
    specifiers(fs.readFileSync(path.join(ROOT, file), 'utf8')).flatMap((spec) => problemsOf(file, resolve(file, spec))));
}

test('every part except api has its entry point, index.ts', () => {
  const missing = PARTS.filter((p) => p !== 'api' && !fs.existsSync(path.join(ROOT, p, 'index.ts')));
  expect(missing).toEqual([]);
});

test('no import breaks the direction between parts, reaches into another part, or imports examples/', () => {
  expect(allProblems()).toEqual([]);
});

test('each allow-listed import still exists (remove it from ALLOWED once fixed)', () => {
  const stale = ALLOWED.filter((a) => !specifiers(fs.readFileSync(path.join(ROOT, a.from), 'utf8')).some((s) => resolve(a.from, s) === a.to));
  expect(stale).toEqual([]);
});

/** Human output of a command-line run that is not under cli/: `cdk8s synth`'s coded problems and warnings, the offline preview. */
const SYNTH_OUTPUT = new Set(['stacks/preview-offline.ts', 'constructs/clean-errors.ts', 'constructs/mesh-check.ts']);

test('one logger: pino only in api/log.ts (and the access log), no console.*, stderr written only by CLI commands', () => {
  const offenders = PARTS.flatMap((part) => sources(part)).flatMap((file) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const found: string[] = [];
    if (/from 'pino'/.test(text) && !['api/log.ts', 'proxy/observability/access-log.ts'].includes(file)) found.push(`${file} imports pino (use api/log.ts)`);
    if (/\bconsole\.(log|info|warn|error|debug)\(/.test(text)) found.push(`${file} uses console.* (use api/log.ts)`);
    // human output of a command (progress, a usage error) is not logging: cli/ and the offline preview CLI only
    if (/process\.stderr\.write\(/.test(text) && !file.startsWith('cli/') && !SYNTH_OUTPUT.has(file)) found.push(`${file} writes stderr itself (use api/log.ts)`);
    return found;
  });
  expect(offenders).toEqual([]);
});

test('the checker sees every import form and flags each kind of breach', () => {
  expect(specifiers(`import { a } from '../x';\nimport type { b } from "../y/z";\nexport * from './w';\nimport './side';\nconst c = require('../../q');\nconst d = await import('../r');\nimport { e } from 'node:fs';`))
    .toEqual(['../x', '../y/z', './w', './side', '../../q', '../r']);
  expect(problemsOf('proxy/main.ts', 'constructs/index.ts')).toEqual([expect.stringContaining('proxy may import only api')]);
  expect(problemsOf('api/model.ts', 'proxy/index.ts')).toEqual([expect.stringContaining('api may import only no other part')]);
  expect(problemsOf('cli/up/mesh.ts', 'control-plane/main-ca.ts')).toEqual([expect.stringContaining('through its entry point control-plane/index.ts')]);
  expect(problemsOf('cli/up/mesh.ts', 'control-plane/index.ts')).toEqual([]);
  expect(problemsOf('constructs/mesh.ts', 'api/build-route.ts')).toEqual([expect.stringContaining('api/ internal')]);
  expect(problemsOf('constructs/mesh.ts', 'api/resources.ts')).toEqual([]);
  expect(problemsOf('control-plane/main.ts', 'examples/bookinfo/mesh.ts')).toEqual([expect.stringContaining('no part imports examples/')]);
  expect(problemsOf('stacks/program.ts', 'stacks/component.ts')).toEqual([]);
});
