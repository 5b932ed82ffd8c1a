/**
 * `weft control-plane`: runs the xDS control plane (ADS + CA wiring lives in control-plane/) with
 * the Kubernetes or local source until SIGTERM. The flags are defined once, in control-plane/main.ts.
 */
import type { Command } from 'commander';
import { addControlPlaneOptions } from '../../control-plane/options';

/** Adds `weft control-plane`. */
export function register(program: Command): void {
  const cmd = program
    .command('control-plane')
    .description('run the control plane: watch the mesh (kubernetes or local dist/*.yaml), serve xDS to proxies, /status /metrics /ready /live over HTTP');
  addControlPlaneOptions(cmd).action(async (flags: Record<string, unknown>) => {
    // Loaded on use: the ADS server, protos and CA are heavy, and `weft --help` needs none of them.
    const { main } = require('../../control-plane/main') as typeof import('../../control-plane/main');
    await main(flags);
  });
}
