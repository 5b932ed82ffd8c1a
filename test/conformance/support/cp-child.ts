/**
 * Child process: the real control plane (local source over a manifest directory + ADS + HTTP
 * status), so a scenario can kill -9 it and start it again. Prints `{"port","statusPort"}` once up.
 * argv: <manifest dir> <endpoints file> <status file> <ads port>
 */
import { LocalSource } from '../../../control-plane/sources/local';
import { startControlPlane } from '../../../control-plane/server';

async function main(): Promise<void> {
  const [dir, endpointsFile, statusFile, port] = process.argv.slice(2);
  const cp = await startControlPlane({
    source: new LocalSource({ dir, endpointsFile, statusFile, debounceMs: 20 }),
    port: Number(port),
    statusPort: 0,
  });
  process.stdout.write(`${JSON.stringify({ port: cp.port, statusPort: cp.statusPort })}\n`);
  process.on('SIGTERM', () => { cp.stop().then(() => process.exit(0), () => process.exit(1)); });
}

main().catch((e) => { process.stderr.write(`cp-child: ${(e as Error).stack}\n`); process.exit(1); });
