/**
 * In-process synthesis for `weft up`: run the user's cdk8s app (the one its cdk8s.yaml names, or a
 * given main.ts) or a mesh module, and write the manifests to `.weft/dist/` (what the control
 * plane's local source watches). Live changes edit those manifests in place, as re-running synth would.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { UP_ERRORS, UpError } from './errors';

/** The bundled example, run when `weft up` gets no app inside the weft repository itself. */
export const DEFAULT_APP = 'examples/bookinfo/mesh.ts#bookinfo';

/** What to synthesize. */
export interface SynthOptions {
  /**
   * A cdk8s app file (`main.ts`: it calls `app.synth()`; no special export needed), a module
   * exporting a mesh function `fn(scope, props)` (`path/to/mesh.ts[#exportName]`), or a directory
   * of already-synthesized manifests (copied as they are).
   */
  readonly app: string;
  /** Second argument of a mesh function (e.g. bookinfo's `{ replicas: { ratings: 3 } }`). @default {} */
  readonly props?: Record<string, unknown>;
  /** Where the manifests go (emptied first). */
  readonly outdir: string;
  /** Base of a relative `app`. @default process.cwd() */
  readonly cwd?: string;
}

type MeshFn = (scope: unknown, props?: Record<string, unknown>) => unknown;
type Cdk8s = typeof import('cdk8s');

/**
 * The app `weft up` runs when given none: the entry file of the `app` command in `projectDir`'s
 * cdk8s.yaml (`npx ts-node main.ts` → main.ts); in the weft repository, `weftRoot`'s example.
 */
export function defaultApp(projectDir: string, weftRoot: string): string {
  const example = join(weftRoot, DEFAULT_APP.split('#')[0]);
  if (resolve(projectDir) === resolve(weftRoot) && existsSync(example)) return join(weftRoot, DEFAULT_APP);
  const config = join(projectDir, 'cdk8s.yaml');
  if (!existsSync(config)) {
    throw new UpError(UP_ERRORS.app, `no app given and no cdk8s.yaml in ${projectDir}: run \`weft up\` in your cdk8s project or name the app (weft up main.ts)`, { exitCode: 2 });
  }
  let command: unknown;
  try {
    command = (parse(readFileSync(config, 'utf8')) as { app?: unknown } | null)?.app;
  } catch (e) {
    throw new UpError(UP_ERRORS.app, `${config} is not YAML: ${(e as Error).message}`, { exitCode: 2 });
  }
  const file = typeof command === 'string'
    ? command.split(/\s+/).reverse().find((t) => /\.(ts|tsx|js|cjs)$/.test(t) && existsSync(resolve(projectDir, t)))
    : undefined;
  if (!file) {
    throw new UpError(UP_ERRORS.app, `cannot tell the app's entry file from ${config} app: ${JSON.stringify(command)}; name it: weft up path/to/main.ts`, { exitCode: 2 });
  }
  return resolve(projectDir, file);
}

/** Where a replica's `local.command` (and `local.cwd`) start: the mesh file's folder, or the manifests' folder's parent. */
export function appBaseDir(app: string, cwd: string = process.cwd()): string {
  const src = resolve(cwd, app.split('#')[0]);
  return existsSync(src) && statSync(src).isDirectory() ? resolve(cwd) : dirname(src);
}

/** `require` that finds packages (cdk8s, ts-node) from the app's folder, as the app's own imports do. */
function requireFrom(dir: string, id: string): unknown {
  return require(require.resolve(id, { paths: [dir] }));
}

/** Makes `.ts` requirable with the app's own ts-node (transpile only), unless something already does. */
function ensureTypeScript(file: string): void {
  if (!/\.tsx?$/.test(file) || require.extensions?.['.ts'] || process.env.JEST_WORKER_ID !== undefined) return;
  let tsNode: { register(o: object): unknown };
  try {
    tsNode = requireFrom(dirname(file), 'ts-node') as typeof tsNode;
  } catch {
    throw new UpError(UP_ERRORS.app, `${file} is TypeScript and no ts-node is installed next to it: npm install --save-dev ts-node typescript (the cdk8s template has both)`, { exitCode: 2 });
  }
  tsNode.register({ transpileOnly: true, projectSearchDir: dirname(file), compilerOptions: { module: 'commonjs' } });
}

function synthError(app: string, e: unknown): UpError {
  if (e instanceof UpError) return e;
  const err = e as { code?: string; message?: string };
  return new UpError(UP_ERRORS.synth, `synthesizing ${app} failed: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`, { cause: e, exitCode: 2 });
}

/**
 * Loads `file` with the app's cdk8s `App.prototype.synth` redirected to `outdir`, so a plain
 * cdk8s main.ts (`new App(); …; app.synth()`) synthesizes where weft up reads. Returns the
 * module and how many Apps synthesized.
 */
function loadApp(file: string, outdir: string): { mod: Record<string, unknown>; synthesized: number; cdk8s: Cdk8s } {
  let cdk8s: Cdk8s;
  try {
    cdk8s = requireFrom(dirname(file), 'cdk8s') as Cdk8s;
  } catch (e) {
    throw new UpError(UP_ERRORS.app, `cannot load ${file}: cdk8s is not installed next to it (npm install cdk8s constructs): ${(e as Error).message}`, { cause: e, exitCode: 2 });
  }
  ensureTypeScript(file);
  const proto = cdk8s.App.prototype as { synth(): void };
  const original = proto.synth;
  let synthesized = 0;
  proto.synth = function synthInto(this: { outdir: string }) {
    synthesized++;
    this.outdir = outdir;
    return original.call(this);
  };
  const envOutdir = process.env.CDK8S_OUTDIR;
  process.env.CDK8S_OUTDIR = outdir;
  try {
    delete require.cache[file];
    const mod = require(file) as Record<string, unknown>;
    return { mod, synthesized, cdk8s };
  } catch (e) {
    const loadFailure = e instanceof SyntaxError || (e as { code?: string }).code === 'MODULE_NOT_FOUND';
    if (loadFailure) throw new UpError(UP_ERRORS.app, `cannot load ${file}: ${(e as Error).message}`, { cause: e, exitCode: 2 });
    throw synthError(file, e);
  } finally {
    proto.synth = original;
    if (envOutdir === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = envOutdir;
  }
}

function meshFunction(mod: Record<string, unknown>, file: string, name: string | undefined): MeshFn {
  if (name) {
    if (typeof mod[name] !== 'function') throw new UpError(UP_ERRORS.app, `${file} has no exported function "${name}"`, { exitCode: 2 });
    return mod[name] as MeshFn;
  }
  if (typeof mod.default === 'function') return mod.default as MeshFn;
  const fns = Object.entries(mod).filter(([, v]) => typeof v === 'function');
  if (fns.length !== 1) {
    throw new UpError(UP_ERRORS.app, `${file} neither called app.synth() nor exports one mesh function (found ${fns.length}: ${fns.map(([k]) => k).join(', ') || 'none'}); give a cdk8s main.ts or name the function with ${basename(file)}#<export>`, { exitCode: 2 });
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
  const { mod, synthesized, cdk8s } = loadApp(src, outdir);
  // A cdk8s app synthesized itself while loading (unless a function was named explicitly).
  if (synthesized > 0 && !exportName) return outdir;
  const fn = meshFunction(mod, src, exportName);
  try {
    await rm(outdir, { recursive: true, force: true });
    const app = new cdk8s.App({ outdir });
    const chart = new cdk8s.Chart(app, basename(src).replace(/\.[jt]s$/, '').replace(/[^a-z0-9-]/gi, '-').toLowerCase() || 'mesh');
    fn(chart, opts.props ?? {});
    app.synth();
  } catch (e) {
    throw synthError(opts.app, e);
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
