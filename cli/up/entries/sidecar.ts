/**
 * Child-process entry of a `weft up` sidecar: `node sidecar.js <bootstrap.json>`. Runs the real
 * proxy (runProxy) from the bootstrap file, prints one JSON line with its ports, and drains on
 * SIGTERM/SIGINT. `weft up` bundles this file with esbuild so each sidecar starts in well under
 * a second instead of compiling TypeScript.
 */
import { readFileSync } from 'node:fs';
import { parseBootstrap } from '../../../api/bootstrap';
import { createLogger } from '../../../api/log';
import { runProxy } from '../../../proxy';
import { exitWithParent } from '../lifeline';

async function main(): Promise<void> {
  // weft up gone (even SIGKILLed): nobody routes to this replica any more, exit at once
  exitWithParent();
  const file = process.argv[2];
  if (!file) throw Object.assign(new Error('usage: sidecar <bootstrap.json>'), { code: 'WEFT_ERR_UP_USAGE', exitCode: 2 });
  const bootstrap = parseBootstrap(JSON.parse(readFileSync(file, 'utf8')));
  const proxy = await runProxy(bootstrap);
  // loopback mode: each replica's app has its own port (ports.app); runProxy sends the inbound clusters there
  process.stdout.write(`${JSON.stringify({ listening: true, id: bootstrap.node.id, ports: proxy.ports })}\n`);
  let signals = 0;
  const stop = () => {
    if (++signals > 1) process.exit(1);
    void proxy.shutdown();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await proxy.closed;
  process.exit(0);
}

main().catch((e: { code?: string; message?: string; exitCode?: number }) => {
  createLogger('weft-proxy').fatal({ code: e.code }, `${e.code ? `${e.code}: ` : ''}${e.message ?? String(e)}`);
  process.exit(e.exitCode ?? 1);
});
