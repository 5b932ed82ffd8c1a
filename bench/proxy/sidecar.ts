/** Runs one weft sidecar for the benchmark: `node sidecar.js <bootstrap.json> <http1|http2>`; prints its ports. */
import * as fs from 'node:fs';
import { parseBootstrap } from '../../api/bootstrap';
import { runProxy } from '../../proxy/main';

const [file, protocol] = process.argv.slice(2);
void runProxy(parseBootstrap(JSON.parse(fs.readFileSync(file, 'utf8'))), { sidecarProtocol: protocol as 'http1' | 'http2', log: () => undefined }).then((p) => {
  process.stdout.write(`${JSON.stringify(p.ports)}\n`);
  process.once('SIGTERM', () => void p.shutdown().then(() => process.exit(0)));
});
