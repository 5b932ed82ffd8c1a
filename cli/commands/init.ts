/**
 * `weft init [dir]` (like `cdk8s init typescript-app`): writes a mesh project that synthesizes,
 * tests (snapshot + mayCall + Pulumi mocks) and runs under `weft up` as it is, then `npm install`s it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { WeftError } from '../../api/errors';
import { projectFiles } from '../init/templates';

/** Options of {@link initProject}. */
export interface InitProjectOptions {
  /** Where the project goes (created; must be empty). */
  readonly dir: string;
  /** npm name. @default the directory's name */
  readonly name?: string;
  /**
   * A directory holding the `weft-mesh-<version>.tgz` / `weft-mesh-runtime-<version>.tgz` tarballs
   * (`npm run package -- DIR`); the project then depends on them as `file:` specs.
   * @default - the registry version of this weft
   */
  readonly from?: string;
  /** This weft's version (the registry spec when `from` is unset). */
  readonly version: string;
}

/** Writes the project; returns the files written (relative). Throws WEFT_ERR_INIT_NOT_EMPTY / WEFT_ERR_INIT_NO_TARBALL. */
export function initProject(opts: InitProjectOptions): string[] {
  const dir = resolve(opts.dir);
  if (existsSync(dir) && readdirSync(dir).some((f) => f !== '.git')) {
    throw new WeftError('WEFT_ERR_INIT_NOT_EMPTY', `${dir} is not empty; weft init writes a new project: give an empty or new directory`);
  }
  const name = (opts.name ?? basename(dir)).toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  const spec = (pkg: string): string => {
    if (!opts.from) return `^${opts.version}`;
    const tgz = join(resolve(opts.from), `${pkg}-${opts.version}.tgz`);
    if (!existsSync(tgz)) throw new WeftError('WEFT_ERR_INIT_NO_TARBALL', `--from ${opts.from} has no ${basename(tgz)}; build it with \`npm run package -- ${opts.from}\``);
    return `file:${relative(dir, tgz)}`;
  };
  const files = projectFiles({ name, weftMesh: spec('weft-mesh'), weftRuntime: spec('weft-mesh-runtime') });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return Object.keys(files);
}

/** This package's version (package.json one or two levels up: sources or the compiled lib/). */
function ownVersion(): string {
  for (const up of ['../..', '../../..']) {
    const p = join(__dirname, up, 'package.json');
    if (existsSync(p)) return (require(p) as { version: string }).version;
  }
  return '0.0.0';
}

export function register(program: Command): void {
  program
    .command('init')
    .description('create a mesh project (like `cdk8s init typescript-app`): mesh.ts, main.ts, cdk8s.yaml, a jest snapshot test, a Pulumi program')
    .argument('[dir]', 'where to create it (must be empty)', '.')
    .option('--name <name>', 'npm package name (default: the directory name)')
    .option('--from <dir>', 'depend on the weft tarballs in <dir> (from `npm run package -- <dir>`) instead of the registry')
    .option('--no-install', 'write the files only; do not run npm install')
    .action((dir: string, flags: { name?: string; from?: string; install: boolean }) => {
      const files = initProject({ dir, name: flags.name, from: flags.from, version: ownVersion() });
      process.stdout.write(`weft init: wrote ${files.length} files in ${resolve(dir)}\n`);
      if (flags.install) {
        const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: resolve(dir), stdio: 'inherit' });
        if (npm.status !== 0) throw new WeftError('WEFT_ERR_INIT_INSTALL', `npm install failed in ${resolve(dir)} (exit ${npm.status}); fix the error above and run it again`);
      }
      process.stdout.write('next: npx cdk8s synth | npm test | npx weft up --expose web=8080 | pulumi up\n');
    });
}
