/**
 * `weft check [dist]`: validates a synthesized dist offline (Kubernetes schemas, weft CRD schemas,
 * mesh rules). Exit status is for scripts: 0 clean, 1 problems found, 2 usage error.
 */
import { Command } from 'commander';
import type { CheckResult } from '../check/run';
import { formatProblem, usageErrorExit } from '../check/problems';

/** Exit statuses of `weft check`. */
export const CHECK_EXIT = { CLEAN: 0, PROBLEMS: 1, USAGE: 2 } as const;

/** The `--json` document: the result plus `ok`. */
export function checkJson(result: CheckResult): Record<string, unknown> {
  return { ok: result.problems.length === 0, ...result };
}

/** Text output: one line per problem, then a summary line. */
export function checkText(result: CheckResult): string {
  const lines = [...result.problems.map(formatProblem), ...result.warnings.map((w) => `warning: ${formatProblem(w)}`)];
  const what = `${result.objects} object(s) in ${result.files.length} file(s)`;
  const unchecked = (result.unchecked.length ? `; ${result.unchecked.length} custom object(s) without a schema here` : '')
    + (result.warnings.length ? `; ${result.warnings.length} warning(s)` : '');
  lines.push(result.problems.length ? `weft check: ${result.problems.length} problem(s) in ${what}${unchecked}` : `weft check: ${what}, no problems${unchecked}`);
  return `${lines.join('\n')}\n`;
}

/** Registers `weft check`. */
export function register(program: Command): void {
  program
    .command('check')
    .description('validate a synthesized dist offline: Kubernetes schemas, weft CRD schemas and the mesh rules (exit 0 clean, 1 problems, 2 usage error)')
    .argument('[dist]', 'directory holding the manifests (.yaml, .yml, .json), searched recursively', 'dist')
    .option('--json', 'print one JSON document instead of text')
    .exitOverride(usageErrorExit)
    .action((dist: string, opts: { json?: boolean }) => {
      // Loaded here: kubernetes-models takes about a second to load, other commands should not pay it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { checkDist } = require('../check/run') as typeof import('../check/run');
      const result = checkDist(dist);
      process.stdout.write(opts.json ? `${JSON.stringify(checkJson(result), null, 2)}\n` : checkText(result));
      if (result.problems.length) process.exitCode = CHECK_EXIT.PROBLEMS;
    });
}
