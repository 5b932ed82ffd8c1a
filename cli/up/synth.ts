/**
 * In-process synthesis for `weft up`: load the app's mesh module, build it into a cdk8s Chart and
 * write the manifests to `.weft/dist/` (what the control plane's local source watches). Live
 * changes edit those manifests in place, the way re-running synth would.
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { UP_ERRORS, UpError } from './errors';

/** The bundled example, run when `weft up` gets no app. */
export const DEFAULT_APP = 'examples/bookinfo/mesh.ts#bookinfo';

/** What to synthesize. */
export interface SynthOptions {
  /**
   * `path/to/mesh.ts[#exportName]` (a module exporting `fn(scope, props)`), or a directory of
   * already-synthesized manifests (copied as they are).
   */
  readonly app: string;
  /** Second argument of the mesh function (e.g. bookinfo's `{ replicas: { ratings: 3 } }`). @default {} */
  readonly props?: Record<string, unknown>;
  /** Where the manifests go (emptied first). */
  readonly outdir: string;
  /** Base of a relative `app`. @default process.cwd() */
  readonly cwd?: string;
}

type MeshFn = (scope: unknown, props?: Record<string, unknown>) => unknown;

function meshFunction(file: string, name: string | undefined): MeshFn {
  let mod: Record<string, unknown>;
  try {
    mod = require(file) as Record<string, unknown>;
  } catch (e) {
    const hint = file.endsWith('.ts') ? ' (TypeScript apps need ts-node: run through `npx weft`)' : '';
    throw new UpError(UP_ERRORS.app, `cannot load ${file}${hint}: ${(e as Error).message}`, { cause: e, exitCode: 2 });
  }
  if (name) {
    if (typeof mod[name] !== 'function') throw new UpError(UP_ERRORS.app, `${file} has no exported function "${name}"`, { exitCode: 2 });
    return mod[name] as MeshFn;
  }
  if (typeof mod.default === 'function') return mod.default as MeshFn;
  const fns = Object.entries(mod).filter(([, v]) => typeof v === 'function');
  if (fns.length !== 1) {
    throw new UpError(UP_ERRORS.app, `${file} must export one mesh function (found ${fns.length}: ${fns.map(([k]) => k).join(', ') || 'none'}); name it with ${basename(file)}#<export>`, { exitCode: 2 });
  }
  return fns[0][1] as MeshFn;
}

/** Synthesizes `opts.app` into `opts.outdir`; returns the absolute outdir. */
export async function synthesize(opts: SynthOptions): Promise<string> {
  const cwd = opts.cwd ?? process.cwd();
  const [pathPart, exportName] = opts.app.split('#');
  const src = resolve(cwd, pathPart);
  const outdir = resolve(opts.outdir);
  if (!existsSync(src)) throw new UpError(UP_ERRORS.app, `app ${opts.app} not found (looked at ${src})`, { exitCode: 2 });
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  if (statSync(src).isDirectory()) {
    for (const f of (await readdir(src)).filter((f) => /\.ya?ml$/.test(f))) await copyFile(join(src, f), join(outdir, f));
    return outdir;
  }
  const fn = meshFunction(src, exportName);
  const { App, Chart } = require('cdk8s') as typeof import('cdk8s');
  try {
    const app = new App({ outdir });
    const chart = new Chart(app, basename(src).replace(/\.[jt]s$/, '').replace(/[^a-z0-9-]/gi, '-').toLowerCase() || 'mesh');
    fn(chart, opts.props ?? {});
    app.synth();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    throw new UpError(UP_ERRORS.synth, `synthesizing ${opts.app} failed: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`, { cause: e, exitCode: 2 });
  }
  return outdir;
}

/** Writes `text` to `file` atomically (a dot-file temp name the local source ignores, then rename). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = join(resolve(file, '..'), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/**
 * Sets the catch-all split of CanaryRoute `namespace/name` in the manifests of `distDir` (the
 * route without `match`), like editing the construct and re-running synth. Returns the file edited.
 * Throws WEFT_ERR_UP_CHANGE when the route or its split is missing or the weights do not sum to 100.
 */
export async function setCanaryWeights(distDir: string, route: { namespace: string; name: string }, weights: Readonly<Record<string, number>>): Promise<string> {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  if (total !== 100 || Object.values(weights).some((w) => !Number.isInteger(w) || w < 0)) {
    throw new UpError(UP_ERRORS.change, `weights ${JSON.stringify(weights)} must be non-negative integers summing to 100`, { exitCode: 2 });
  }
  for (const f of (await readdir(distDir)).filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('.')).sort()) {
    const file = join(distDir, f);
    const docs = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as Record<string, any> | null);
    const hit = docs.find((d) => d?.kind === 'CanaryRoute' && d.metadata?.name === route.name && (d.metadata?.namespace ?? 'default') === route.namespace);
    if (!hit) continue;
    const split = (hit.spec.routes as Array<Record<string, any>>).find((r) => !r.match || r.match.length === 0);
    if (!split) throw new UpError(UP_ERRORS.change, `CanaryRoute ${route.namespace}/${route.name} has no catch-all split to change`);
    split.backends = Object.entries(weights).map(([version, weight]) => ({ version, weight }));
    await writeAtomic(file, docs.filter((d) => d !== null).map((d) => stringify(d)).join('---\n'));
    return file;
  }
  throw new UpError(UP_ERRORS.change, `no CanaryRoute ${route.namespace}/${route.name} in ${distDir}`);
}
