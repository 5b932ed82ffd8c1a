/**
 * `weft control-plane`: runs the xDS control plane (ADS + CA wiring lives in control-plane/) with
 * the Kubernetes or local source until SIGTERM. The flags are defined once, in control-plane/main.ts.
 */
import type { Command } from 'commander';
import { addControlPlaneOptions, main } from '../../control-plane';

/** Adds `weft control-plane`. */
export function register(program: Command): void {
  const cmd = program
    .command('control-plane')
    .description('run the control plane: watch the mesh (kubernetes or local dist/*.yaml), serve xDS to proxies, /status /metrics /ready /live over HTTP');
  addControlPlaneOptions(cmd).action(async (flags: Record<string, unknown>) => {
    // main loads the ADS server, protos and CA on use: `weft --help` needs none of them
    await main(flags);
  });
}
