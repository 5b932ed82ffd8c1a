/**
 * `weft proxy --bootstrap <file>`: runs the sidecar in the foreground. SIGTERM/SIGINT (or
 * POST /shutdown on the admin port) drain it gracefully; the process exits when the drain is done.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { parseBootstrap } from '../../api/bootstrap';
import { WeftError } from '../../api/errors';

/** Reads a bootstrap file (JSON or YAML). */
export function readBootstrapFile(file: string): ReturnType<typeof parseBootstrap> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new WeftError('WEFT_ERR_BOOTSTRAP_READ', `cannot read bootstrap ${file}: ${(e as Error).message}`);
  }
  return parseBootstrap(YAML.parse(text));
}

export function register(program: Command): void {
  program
    .command('proxy')
    .description('run the weft sidecar proxy from a bootstrap file')
    .requiredOption('--bootstrap <file>', 'bootstrap file (JSON or YAML)')
    .option('--sidecar-protocol <protocol>', 'protocol between sidecars: http1 (pooled HTTP/1.1 over mTLS) or http2 (multiplexed); default: the one measured faster (docs/proxy.md)')
    .action(async (opts: { bootstrap: string; sidecarProtocol?: string }) => {
      if (opts.sidecarProtocol !== undefined && opts.sidecarProtocol !== 'http1' && opts.sidecarProtocol !== 'http2') {
        throw new WeftError('WEFT_ERR_INVALID_VALUE', `--sidecar-protocol must be http1 or http2, not ${JSON.stringify(opts.sidecarProtocol)}`);
      }
      const bootstrap = readBootstrapFile(opts.bootstrap);
      // loaded lazily so other commands do not pay for the proxy's imports
      const { runProxy } = await import('../../proxy');
      const proxy = await runProxy(bootstrap, { sidecarProtocol: opts.sidecarProtocol as 'http1' | 'http2' | undefined });
      const stop = (): void => void proxy.shutdown();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // print the bound ports (port 0 in the bootstrap picks free ones) for scripts and tests
      process.stdout.write(`${JSON.stringify({ event: 'listening', ...proxy.ports })}\n`);
      await proxy.closed;
      process.exit(0);
    });
}
