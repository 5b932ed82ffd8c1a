/** Errors the cdk8s way: a broken app run as cdk8s-cli runs it prints every problem, without a stack trace, and exits 1. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderUncaught } from '../../constructs/clean-errors';
import { WeftValidationError } from '../../constructs';

const root = path.resolve(__dirname, '../..');
const app = path.join(__dirname, 'fixtures/broken-app.ts');

function run(env: Record<string, string>) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-clean-'));
  try {
    // The child is not a jest worker (warnings are printed outside jest only).
    const { CDK8S_OUTDIR: _outdir, JEST_WORKER_ID: _worker, ...base } = process.env;
    void _outdir; void _worker;
    return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', app], {
      cwd: root, encoding: 'utf8', timeout: 60_000,
      env: { ...base, TS_NODE_PROJECT: path.join(root, 'tsconfig.json'), ...(env.CDK8S_OUTDIR === '' ? {} : { CDK8S_OUTDIR: out }), ...env },
    });
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

test('under cdk8s synth (CDK8S_OUTDIR set): all four problems, each with code, construct path and fix; no stack; exit 1', () => {
  const r = run({});
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('weft: synth failed: 4 problems in the mesh');
  for (const [code, at] of [['WEFT_ERR_MISSING_PROP', 'shop/ratings'], ['WEFT_ERR_SELF_CALL', 'shop/reviews'], ['WEFT_ERR_UNKNOWN_SERVICE', 'shop/ratings'], ['WEFT_ERR_UNKNOWN_PORT', 'shop/reviews-canary']]) {
    expect(r.stderr).toMatch(new RegExp(`\\d\\) ${code} \\[${at}\\] .*Fix: `));
  }
  expect(r.stderr).not.toMatch(/^\s+at /m);
  // The warning about ratings (nothing calls it) is printed too, and does not count as a problem.
  expect(r.stderr).toContain('weft warning: WEFT_WARN_UNREACHABLE [shop/ratings]');
});

test('outside cdk8s synth the handler is not installed: Node\'s own output, with the stack', () => {
  const r = run({ CDK8S_OUTDIR: '' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^\s+at /m);
});

test('renderUncaught: a weft error as its list, anything else as its stack', () => {
  const scope = { node: { path: 'shop/x' } } as never;
  const one = new WeftValidationError('WEFT_ERR_SELF_CALL', 'calls itself', scope);
  expect(renderUncaught(one)).toBe('weft: synth failed: 1 problem in the mesh\n  1) WEFT_ERR_SELF_CALL [shop/x] calls itself. Fix: drop the call; a service reaches itself in-process\n');
  const two = WeftValidationError.aggregate([one, new WeftValidationError('WEFT_ERR_NO_MESH', 'no mesh', scope)]);
  expect(renderUncaught(two).split('\n').slice(0, 3)).toEqual(['weft: synth failed: 2 problems in the mesh', expect.stringContaining('1) WEFT_ERR_SELF_CALL'), expect.stringContaining('2) WEFT_ERR_NO_MESH')]);
  const plain = new Error('boom');
  expect(renderUncaught(plain)).toBe(`${plain.stack}\n`);
});
