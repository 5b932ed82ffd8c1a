#!/usr/bin/env node
/**
 * The `weft` bin of the installed `weft-mesh`: the whole command from `weft-mesh-runtime` when it
 * is installed (next to the project or to weft-mesh); otherwise the commands that need no runtime
 * (`check`, `init`, `export`), and the others answer WEFT_ERR_RUNTIME_MISSING with the install line.
 */
import { Command } from 'commander';
import { WeftError } from '../api/errors';
import { runProgram } from './run';

/** The commands only weft-mesh-runtime has (proxy, control plane, weft up and its companions). */
export const RUNTIME_COMMANDS: Readonly<Record<string, string>> = {
  up: 'run the mesh on this machine (control plane, CA, every replica as app + sidecar)',
  stat: 'golden metrics of a running `weft up`',
  'config-dump': 'the config a proxy of `weft up` holds',
  'proxy-status': 'per-proxy xDS sync state (ACK/NACK)',
  proxy: 'run the sidecar proxy',
  'control-plane': 'run the control plane',
  'self-check': 'check the proxy/control-plane image installation',
};

/** Where weft-mesh-runtime is installed, looked up from the project first; undefined when it is not. */
export function findRuntime(from: readonly string[] = [process.cwd(), __dirname]): string | undefined {
  try {
    return require.resolve('weft-mesh-runtime', { paths: [...from] });
  } catch {
    return undefined;
  }
}

/** The program without the runtime: `check`, `init` and `export` for real, the runtime commands as pointers. */
export function buildLiteProgram(): Command {
  const program = new Command('weft').description('weft: a service mesh you write in TypeScript').showHelpAfterError();
  (require('../cli/commands/check') as { register(p: Command): void }).register(program);
  (require('../cli/commands/init') as { register(p: Command): void }).register(program);
  (require('../cli/commands/export') as { register(p: Command): void }).register(program);
  for (const [name, what] of Object.entries(RUNTIME_COMMANDS)) {
    program.command(name).description(`${what} (needs weft-mesh-runtime)`).allowUnknownOption().allowExcessArguments()
      .action(() => {
        throw Object.assign(new WeftError('WEFT_ERR_RUNTIME_MISSING', `\`weft ${name}\` runs the proxy and control plane, which ship in weft-mesh-runtime; install it: npm install --save-dev weft-mesh-runtime`), { exitCode: 2 });
      });
  }
  return program;
}

if (require.main === module) {
  const runtime = findRuntime();
  if (runtime) void (require(runtime) as { main(argv: readonly string[]): Promise<void> }).main(process.argv);
  else void runProgram(buildLiteProgram(), process.argv);
}
