/**
 * `weft-mesh-runtime`'s entry: the whole `weft` command (up, proxy, control-plane, stat, …).
 * The `weft` bin of `weft-mesh` hands over to {@link main} when this package is installed.
 */
import { buildProgram } from '../cli/main';
import { runProgram } from './run';

export { buildProgram };

/** Runs `weft` with `argv` (`process.argv` shape). */
export function main(argv: readonly string[]): Promise<void> {
  return runProgram(buildProgram(), argv);
}
