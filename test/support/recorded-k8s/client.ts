/**
 * `@kubernetes/client-node` 1.x ships as ES modules, which jest (on Node 20) cannot `require`. This
 * builds the very same library code into one CommonJS file with esbuild (cached per version) so tests
 * run client-node's real ListWatch/Watch/API code. Production code loads the package directly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { K8sClientModule } from '../../../control-plane/sources/kubernetes';

let cached: K8sClientModule | undefined;

/** The client-node module, as CommonJS. First call takes ~1.5 s (esbuild), later calls reuse the file. */
export function loadK8sClient(): K8sClientModule {
  if (cached) return cached;
  const pkgDir = join(__dirname, '..', '..', '..', 'node_modules', '@kubernetes', 'client-node');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const out = join(tmpdir(), `weft-k8s-client-node-${version}.cjs`);
  if (!existsSync(out)) {
    // A separate process: esbuild's native binary is not happy inside jest's module sandbox.
    const tmp = `${out}.${process.pid}.tmp`;
    const script = `require('esbuild').buildSync({entryPoints:[${JSON.stringify(join(pkgDir, 'dist', 'index.js'))}],bundle:true,platform:'node',format:'cjs',target:'node20',outfile:${JSON.stringify(tmp)},logLevel:'error'})`;
    execFileSync(process.execPath, ['-e', script], { cwd: join(__dirname, '..', '..', '..'), stdio: 'inherit' });
    renameSync(tmp, out); // atomic: parallel jest workers never see a half-written bundle
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cached = require(out) as K8sClientModule;
  return cached;
}
