/**
 * The test tiers (jest.config.js, docs/test-tiers.md): every test file is in exactly one of unit,
 * integration and system, and the unit tier really refuses sockets and processes.
 */
import * as childProcess from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

interface TierConfig {
  readonly displayName: string;
  readonly rootDir: string;
  readonly testMatch: readonly string[];
  readonly testPathIgnorePatterns?: readonly string[];
}

// jest's own glob matcher, so the check agrees with jest (no types shipped; one function used)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const micromatch = require('micromatch') as { isMatch(file: string, globs: string[]): boolean };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require(path.join(ROOT, 'jest.config.js')) as { projects: TierConfig[] };

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' || d.name.startsWith('.') ? [] : filesUnder(p);
    return [p];
  });
}

function tiersOf(file: string): string[] {
  return config.projects
    .filter((t) => micromatch.isMatch(file, t.testMatch.map((g) => g.replace('<rootDir>', t.rootDir))))
    .filter((t) => !(t.testPathIgnorePatterns ?? []).some((re) => new RegExp(re).test(file)))
    .map((t) => t.displayName);
}

const files = filesUnder(path.join(ROOT, 'test'));

test('the tiers are unit, integration and system, in that order', () => {
  expect(config.projects.map((t) => t.displayName)).toEqual(['unit', 'integration', 'system']);
});

test('every test file is in exactly one tier', () => {
  const tests = files.filter((f) => f.endsWith('.test.ts'));
  expect(tests.length).toBeGreaterThan(100);
  const wrong = tests.map((f) => ({ file: path.relative(ROOT, f), tiers: tiersOf(f) })).filter((t) => t.tiers.length !== 1);
  expect(wrong).toEqual([]);
});

test('the suffix names the tier: .sys.test.ts system, .int.test.ts integration, any other .test.ts unit', () => {
  const at = (rel: string) => tiersOf(path.join(ROOT, rel));
  expect(at('test/proxy/x/a.test.ts')).toEqual(['unit']);
  expect(at('test/proxy/x/a.int.test.ts')).toEqual(['integration']);
  expect(at('test/proxy/x/a.sys.test.ts')).toEqual(['system']);
  expect(at('test/proxy/x/a.e2e.sys.test.ts')).toEqual(['system']);
});

test('no file looks like a test that no tier would run (.spec.ts, .test.js, .tests.ts, .test.tsx)', () => {
  const strays = files.map((f) => path.relative(ROOT, f)).filter((f) => /\.(spec|tests?)\.(m?[jt]sx?)$/.test(f) && !f.endsWith('.test.ts'));
  expect(strays).toEqual([]);
});

test('the unit tier refuses sockets and processes with WEFT_ERR_TEST_TIER (so a misfiled test fails loudly)', () => {
  expect(() => net.createServer().listen(0, '127.0.0.1')).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TEST_TIER' }));
  expect(() => net.connect(1, '127.0.0.1')).toThrow(expect.objectContaining({ code: 'WEFT_ERR_TEST_TIER' }));
  expect(() => childProcess.spawnSync(process.execPath, ['-v'])).toThrow(/\.int\.test\.ts.*\.sys\.test\.ts/);
});
