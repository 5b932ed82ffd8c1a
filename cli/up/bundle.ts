/**
 * Turns the child entries (sidecar, control plane) into commands. With esbuild (a dev dependency,
 * there after `npm ci`) each entry is bundled once into `.weft/bin/` — a child then starts in a
 * fraction of a second; without it, children run the TypeScript through ts-node (slower, same code).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** Repository root (where node_modules and the weft sources live). */
export const WEFT_ROOT = resolve(__dirname, '..', '..');

/** The child programs `weft up` runs. */
export type EntryName = 'sidecar' | 'control-plane';

/** How to start one entry: argv prefix (program + leading args) and extra env. */
export interface EntryCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Bundles (or locates) the entries; `outDir` is usually `.weft/bin`. */
export async function prepareEntries(outDir: string, useBundle = true): Promise<Record<EntryName, EntryCommand>> {
  const names: EntryName[] = ['sidecar', 'control-plane'];
  // Installed (weft-mesh-runtime): the entries are compiled JavaScript already; run them as they are.
  if (__filename.endsWith('.js')) {
    return Object.fromEntries(names.map((n) => [n, { argv: [process.execPath, join(__dirname, 'entries', `${n}.js`)], env: {} }])) as unknown as Record<EntryName, EntryCommand>;
  }
  const sources = Object.fromEntries(names.map((n) => [n, join(WEFT_ROOT, 'cli', 'up', 'entries', `${n}.ts`)])) as Record<EntryName, string>;
  const env = { NODE_PATH: join(WEFT_ROOT, 'node_modules') };
  let esbuild: typeof import('esbuild') | undefined;
  if (useBundle && existsSync(sources.sidecar)) {
    try {
      esbuild = require('esbuild') as typeof import('esbuild');
    } catch {
      esbuild = undefined;
    }
  }
  if (!esbuild) {
    const tsNode = ['-r', 'ts-node/register/transpile-only'];
    return Object.fromEntries(names.map((n) => [n, { argv: [process.execPath, ...tsNode, sources[n]], env }])) as unknown as Record<EntryName, EntryCommand>;
  }
  await mkdir(outDir, { recursive: true });
  const fs = require('node:fs/promises') as typeof import('node:fs/promises');
  // `__dirname` in weft's sources locates its .proto files: pin it to each source's real folder.
  const pinDirname = {
    name: 'weft-pin-dirname',
    setup(build: import('esbuild').PluginBuild) {
      build.onLoad({ filter: /\.ts$/ }, async (a) => ({
        contents: (await fs.readFile(a.path, 'utf8')).replace(/\b__dirname\b/g, JSON.stringify(dirname(a.path))),
        loader: 'ts',
      }));
    },
  };
  const out: Partial<Record<EntryName, EntryCommand>> = {};
  await Promise.all(names.map(async (n) => {
    const outfile = join(outDir, `${n}.js`);
    await esbuild!.build({
      entryPoints: [sources[n]], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile,
      packages: 'external', define: { 'require.main': 'undefined' }, plugins: [pinDirname], logLevel: 'silent', sourcemap: 'inline',
    });
    out[n] = { argv: [process.execPath, '--enable-source-maps', outfile], env };
  }));
  return out as Record<EntryName, EntryCommand>;
}

