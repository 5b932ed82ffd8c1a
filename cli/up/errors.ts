/**
 * Errors of `weft up`, one stable code per way starting a local mesh can fail, so scripts and
 * tests can tell a bad app from a busy port from a child that died.
 */
import { WeftError } from '../../api/errors';

/** Stable codes of `weft up` (and `weft stat`, `weft config-dump`). */
export const UP_ERRORS = {
  /** The app module could not be loaded or has no mesh function. */
  app: 'WEFT_ERR_UP_APP',
  /** Synthesis threw (usually a construct validation error, kept as `cause`). */
  synth: 'WEFT_ERR_UP_SYNTH',
  /** A MeshService version to run has no `local.command`. */
  noLocalCommand: 'WEFT_ERR_UP_NO_LOCAL_COMMAND',
  /** A `--expose` value is malformed or names an unknown service. */
  expose: 'WEFT_ERR_UP_EXPOSE',
  /** A child (app, sidecar, control plane) exited or did not become ready in time. */
  child: 'WEFT_ERR_UP_CHILD',
  /** A port could not be bound. */
  port: 'WEFT_ERR_UP_PORT',
  /** `--netns` needs Linux, root, `ip` and `iptables`. */
  netns: 'WEFT_ERR_UP_NETNS',
  /** No running mesh found in the state directory (stat, config-dump). */
  notRunning: 'WEFT_ERR_UP_NOT_RUNNING',
  /** Unknown proxy name (config-dump). */
  unknownProxy: 'WEFT_ERR_UP_UNKNOWN_PROXY',
  /** A bad `--trace-to` URL, or `--prometheus` without a prometheus binary. */
  observability: 'WEFT_ERR_UP_OBSERVABILITY',
  /** A live change (weights) was refused. */
  change: 'WEFT_ERR_UP_CHANGE',
} as const;

export type UpErrorCode = (typeof UP_ERRORS)[keyof typeof UP_ERRORS];

/** An error of `weft up`; `exitCode` is 2 for usage problems, 1 otherwise. */
export class UpError extends WeftError {
  readonly exitCode: number;
  constructor(code: UpErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, options);
    this.name = 'UpError';
    this.exitCode = options?.exitCode ?? 1;
  }
}
