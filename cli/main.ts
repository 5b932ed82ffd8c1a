/**
 * The `weft` command. Each subcommand lives in `cli/commands/<name>.ts` and exports
 * `register(program)`; this file only lists them, so `weft --help` shows the whole surface.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';

/** A subcommand module. */
export interface CommandModule {
  register(program: Command): void;
}

// Each part adds its subcommand module here.
const modules: (() => CommandModule)[] = [
  () => require('./commands/self-check') as CommandModule,
  () => require('./commands/check') as CommandModule,
  () => require('./commands/control-plane') as CommandModule,
  () => require('./commands/proxy-status') as CommandModule,
  () => require('./commands/up') as CommandModule,
  () => require('./commands/stat') as CommandModule,
  () => require('./commands/config-dump') as CommandModule,
  () => require('./commands/proxy') as CommandModule,
  () => require('./commands/export') as CommandModule,
  () => require('./commands/init') as CommandModule,
];

/** weft's version: package.json's `version` (read at run time, so a bundle and the sources agree with the package). */
export function weftVersion(root = join(__dirname, '..')): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Builds the program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('weft').description('weft: a service mesh you write in TypeScript').version(weftVersion(), '-V, --version', 'print the weft version').showHelpAfterError();
  for (const load of modules) load().register(program);
  return program;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((e: unknown) => {
    const err = e as { code?: string; message?: string };
    process.stderr.write(`weft: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    process.exitCode = typeof (e as { exitCode?: number }).exitCode === 'number' ? (e as { exitCode: number }).exitCode : 1;
  });
}
