/** The one problem shape `weft check` reports, whichever validator found it, and its usage error. */
import type { CommanderError } from 'commander';
import { WeftError } from '../../api/errors';

/** One thing wrong with the dist. `code` is a stable `WEFT_ERR_*`; `field` a JSON path in the object. */
export interface CheckProblem {
  readonly code: string;
  /** `Kind/namespace/name` (`Kind/name` when cluster-scoped), or `file#doc` when there is no object. */
  readonly object: string;
  /** JSON path inside the object (`spec.ports[0].port`); empty for the whole object or file. */
  readonly field: string;
  readonly message: string;
  /** How to fix it, when the rule knows. */
  readonly fix?: string;
  /** File relative to the dist dir. */
  readonly file: string;
  /** 1-based line of the field (or of its nearest parent) when known. */
  readonly line?: number;
}

/** Bad invocation (missing or empty dist, bad flag). The CLI exits with `exitCode` 2 for it. */
export class UsageError extends WeftError {
  /** Exit status `weft` uses for usage errors. */
  public readonly exitCode = 2;

  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'UsageError';
  }
}

/** One line of text output: `CODE object field: message (file:line)`. */
export function formatProblem(p: CheckProblem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  const field = p.field ? ` ${p.field}` : '';
  return `${p.code} ${p.object}${field}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''} [${where}]`;
}

/**
 * For `command.exitOverride()`: a parse error (unknown option, extra argument) becomes a
 * `WEFT_ERR_USAGE` UsageError, so `weft` exits 2; `--help` still exits 0 through commander.
 */
export function usageErrorExit(err: CommanderError): void {
  if (err.exitCode === 0) return;
  throw new UsageError('WEFT_ERR_USAGE', err.message.replace(/^error: /, ''));
}
