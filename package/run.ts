/** Runs a commander program the way every `weft` entry does: a coded error prints `weft: CODE: message`, no stack. */
import type { Command } from 'commander';

/** Parses `argv` with `program`; sets the exit code from the error (`exitCode`, else 1). */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    const err = e as { code?: string; message?: string; exitCode?: number };
    process.stderr.write(`weft: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    process.exitCode = typeof err.exitCode === 'number' ? err.exitCode : 1;
  }
}
