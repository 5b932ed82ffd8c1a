/**
 * `weft export --to gateway-api|istio [dir]`: the mesh of a synthesized dist as another mesh's
 * resources, YAML on stdout; what the target cannot express is listed on stderr as coded warnings.
 * Exit 0 written, 1 unreadable manifests (or warnings with --strict), 2 usage error.
 */
import { Command } from 'commander';
import { stringify } from 'yaml';
import { EXPORT_TARGETS, exportManifests, exportTargetOf, type ExportResult, type ExportWarning } from '../../api/export';
import { formatProblem, UsageError, usageErrorExit } from '../check/problems';

/** Exit statuses of `weft export`. */
export const EXPORT_EXIT = { OK: 0, PROBLEMS: 1, USAGE: 2 } as const;

/** The objects as one multi-document YAML stream. */
export function exportYaml(result: ExportResult): string {
  return result.objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** One stderr line per warning: `warning WEFT_ERR_EXPORT_UNSUPPORTED <resource> <field>: <message>`. */
export function warningLine(w: ExportWarning): string {
  return `warning ${w.code} ${w.resource}${w.field ? ` ${w.field}` : ''}: ${w.message}`;
}

/** Registers `weft export`. */
export function register(program: Command): void {
  program
    .command('export')
    .description(`write the mesh of a synthesized dist as ${EXPORT_TARGETS.join(' or ')} resources (YAML on stdout, warnings on stderr; exit 0 written, 1 problems, 2 usage error)`)
    .requiredOption('--to <target>', `target: ${EXPORT_TARGETS.join(', ')}`)
    .argument('[dist]', 'directory holding the synthesized manifests (.yaml, .yml, .json), searched recursively', 'dist')
    .option('--strict', 'exit 1 when the target cannot express something (a warning)')
    .exitOverride(usageErrorExit)
    .action((dist: string, opts: { to: string; strict?: boolean }) => {
      let target;
      try {
        target = exportTargetOf(opts.to);
      } catch (e) {
        throw new UsageError('WEFT_ERR_EXPORT_TARGET', (e as Error).message);
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { loadDist } = require('../check/load') as typeof import('../check/load');
      const loaded = loadDist(dist);
      if (loaded.problems.length) {
        // a half-read mesh would export a different mesh: refuse rather than write it
        process.stderr.write(`${loaded.problems.map(formatProblem).join('\n')}\nweft export: ${loaded.problems.length} unreadable manifest(s); nothing written\n`);
        process.exitCode = EXPORT_EXIT.PROBLEMS;
        return;
      }
      const result = exportManifests(loaded.manifests.map((m) => m.object), target);
      process.stdout.write(exportYaml(result));
      if (result.warnings.length) process.stderr.write(`${result.warnings.map(warningLine).join('\n')}\n`);
      process.stderr.write(`weft export: ${result.objects.length} ${target} object(s), ${result.warnings.length} warning(s)\n`);
      if (opts.strict && result.warnings.length) process.exitCode = EXPORT_EXIT.PROBLEMS;
    });
}
