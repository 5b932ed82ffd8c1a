/**
 * Clean errors under `cdk8s synth`: a WeftValidationError that escapes the user's `app.synth()`
 * is printed as its list of problems (code, construct path, fix) without a Node stack trace, and
 * the app exits 1, which cdk8s reports as a failed synth. Any other error keeps Node's default output.
 */
import { inspect } from 'node:util';
import { WeftValidationError } from './errors';

const kInstalled = Symbol.for('weft.constructs.clean-errors');

/** The text printed for an uncaught error: the problem list for weft errors, Node's own rendering otherwise. */
export function renderUncaught(e: unknown): string {
  if (WeftValidationError.isWeftValidationError(e)) {
    const errors = e.errors;
    const head = errors.length === 1 ? 'weft: synth failed: 1 problem in the mesh' : `weft: synth failed: ${errors.length} problems in the mesh`;
    return `${head}\n${errors.map((x, i) => `  ${i + 1}) ${x.code} ${x.message}`).join('\n')}\n`;
  }
  return `${e instanceof Error ? e.stack ?? String(e) : inspect(e)}\n`;
}

/**
 * Installs the handler once per process, only when cdk8s-cli runs the app (it sets CDK8S_OUTDIR),
 * so libraries, tests and `weft up` keep Node's own behaviour.
 */
export function installCleanErrors(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.CDK8S_OUTDIR === undefined || env.WEFT_STACK_TRACES === '1') return false;
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (g[kInstalled]) return false;
  g[kInstalled] = true;
  process.on('uncaughtException', (e) => {
    process.stderr.write(renderUncaught(e));
    process.exit(1);
  });
  return true;
}
