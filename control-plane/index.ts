/**
 * The control plane's entry point: everything other parts (the CLI) may use. Cheap to import —
 * `weft --help` loads it — so the ADS server, protos and CA load on the first call of `main`/`startCa`.
 */
import type { Log } from './main';
import type { CaWiringOptions, RunningCa } from './main-ca';

export { addControlPlaneOptions, ControlPlaneUsageError, optionsFromFlags } from './options';
export type { RunOptions, SourceKind } from './options';
export { readManifests } from './sources/manifests';
export type { StatusDocument, TypeStatus } from './xds/status';
export { describeRejection } from './last-good';
export type { Rejection } from './last-good';
export type { BootstrapTokenAuthenticator } from './ca/authn';
export type { CaWiringOptions, RunningCa } from './main-ca';
export type { Log } from './main';

/** Runs the control plane until SIGTERM (`weft control-plane`; flags as `addControlPlaneOptions` defines them). */
export async function main(flags: Record<string, unknown>, log?: Log): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require('./main') as typeof import('./main');
  return log ? m.main(flags, log) : m.main(flags);
}

/** Starts the CA (`weft up` runs it in its own process, next to the control plane). */
export async function startCa(opts: CaWiringOptions): Promise<RunningCa> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./main-ca') as typeof import('./main-ca')).startCa(opts);
}
