/**
 * Child-process entry of the `weft up` control plane: `node control-plane.js <options.json>`, the
 * same `main()` as `weft control-plane --source local`, bundled with esbuild for a fast start (and
 * a fast restart after the e2e test kills it).
 */
import { readFileSync } from 'node:fs';
import { main } from '../../../control-plane';

const flags = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Record<string, unknown>;
main(flags).then(
  () => process.exit(0),
  (e: { code?: string; message?: string; exitCode?: number }) => {
    process.stderr.write(`weft control plane: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(e)}\n`);
    process.exit(e.exitCode ?? 1);
  },
);
