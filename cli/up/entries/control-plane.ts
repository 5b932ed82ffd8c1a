/**
 * Child-process entry of the `weft up` control plane: `node control-plane.js <options.json>`, the
 * same `main()` as `weft control-plane --source local`, bundled with esbuild for a fast start (and
 * a fast restart after the e2e test kills it).
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../../api/log';
import { main } from '../../../control-plane';
import { exitWithParent } from '../lifeline';

// weft up gone (even SIGKILLed): its sidecars go with it, so stop serving at once
exitWithParent();

const flags = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Record<string, unknown>;
main(flags).then(
  () => process.exit(0),
  (e: { code?: string; message?: string; exitCode?: number }) => {
    createLogger('weft-control-plane').fatal({ code: e.code }, `${e.code ? `${e.code}: ` : ''}${e.message ?? String(e)}`);
    process.exit(e.exitCode ?? 1);
  },
);
