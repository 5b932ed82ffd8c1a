/**
 * `npm run package -- DIR`: compiles the sources (tsconfig.build.json) into build/package/lib,
 * stages the two npm packages from it and packs them into DIR:
 *   weft-mesh-<version>.tgz          constructs, weft-mesh/testing, weft-mesh/pulumi, the `weft` bin
 *   weft-mesh-runtime-<version>.tgz  proxy, control plane, `weft up` (the heavy dependencies)
 * Each package holds the files its entry points reach (JS requires and .d.ts imports, walked) and
 * depends on exactly the packages those files import, at the versions pinned in package.json.
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
/** Where the compiled tree and the staged packages go (set per build: tests use their own). */
let BUILD = join(ROOT, 'build', 'package');
let LIB = join(BUILD, 'lib');
const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string; license: string; description: string;
  dependencies: Record<string, string>; devDependencies: Record<string, string>; peerDependencies: Record<string, string>;
};
const pinned: Record<string, string> = { ...root.devDependencies, ...root.dependencies };

/** One package to stage. */
interface PackageSpec {
  readonly name: string;
  readonly description: string;
  /** lib-relative entry files (without extension) the walk starts from. */
  readonly entries: readonly string[];
  /** Extra manifest fields. */
  readonly manifest: Record<string, unknown>;
  /** Peer dependencies (ranges); externals listed here are not made dependencies. */
  readonly peers: Record<string, string>;
  /** Which peers are optional. */
  readonly optionalPeers: readonly string[];
  readonly readme: string;
}

const v = root.version;
const entry = (name: string) => ({ types: `./lib/package/${name}.d.ts`, default: `./lib/package/${name}.js` });
const PACKAGES: PackageSpec[] = [
  {
    name: 'weft-mesh',
    description: root.description,
    entries: ['package/index', 'package/testing', 'package/pulumi', 'package/cli', 'cli/commands/check', 'cli/commands/init'],
    manifest: {
      main: './lib/package/index.js',
      types: './lib/package/index.d.ts',
      exports: { '.': entry('index'), './testing': entry('testing'), './pulumi': entry('pulumi'), './package.json': './package.json' },
      // `moduleResolution: node` (the cdk8s template's) ignores `exports`; these map the subpaths for tsc.
      typesVersions: { '*': { testing: ['lib/package/testing.d.ts'], pulumi: ['lib/package/pulumi.d.ts'] } },
      bin: { weft: 'lib/package/cli.js' },
    },
    peers: { cdk8s: '^2.68.0', constructs: '^10.3.0', '@pulumi/pulumi': '^3.0.0', '@pulumi/kubernetes': '^4.0.0', 'weft-mesh-runtime': v },
    optionalPeers: ['@pulumi/pulumi', '@pulumi/kubernetes', 'weft-mesh-runtime'],
    readme: readFileSync(join(ROOT, 'README.md'), 'utf8'),
  },
  {
    name: 'weft-mesh-runtime',
    description: 'The runtime of weft-mesh: the sidecar proxy, the xDS control plane and `weft up` (the `weft` command of weft-mesh uses it when installed).',
    entries: ['package/runtime', 'cli/up/entries/sidecar', 'cli/up/entries/control-plane'],
    manifest: { main: './lib/package/runtime.js', types: './lib/package/runtime.d.ts', exports: { '.': entry('runtime'), './package.json': './package.json' } },
    peers: {},
    optionalPeers: [],
    readme: `# weft-mesh-runtime\n\nThe sidecar proxy, control plane and \`weft up\` of [weft-mesh](https://www.npmjs.com/package/weft-mesh).\nInstall it next to weft-mesh (\`npm install --save-dev weft-mesh-runtime\`); \`npx weft up\` then runs your cdk8s app's mesh on this machine.\n`,
  },
];

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** Files reachable from `entries` inside LIB, plus the bare packages they import. */
function walk(entries: readonly string[]): { files: Set<string>; externals: Map<string, string> } {
  const files = new Set<string>();
  const externals = new Map<string, string>(); // package → first file importing it
  const queue = entries.flatMap((e) => [`${e}.js`, `${e}.d.ts`]);
  // require('x') / import('x') anywhere; `import|export … from 'x';` and `import 'x';` as whole lines (either quote).
  const spec = /(?:\brequire\((["'])([^"'\n]+)\1\)|\bimport\((["'])([^"'\n]+)\3\)|^(?:import|export)\b[^\n]*?\bfrom (["'])([^"'\n]+)\5;?$|^import (["'])([^"'\n]+)\7;?$)/gm;
  while (queue.length) {
    const rel = queue.pop()!;
    if (files.has(rel)) continue;
    const abs = join(LIB, rel);
    if (!existsSync(abs)) throw new Error(`package: ${rel} is reached but was not built`);
    files.add(rel);
    if (!/\.(js|d\.ts)$/.test(rel)) continue;
    const text = readFileSync(abs, 'utf8');
    if (text.includes('weft-package: data-only')) continue; // strings that look like imports (weft init's files)
    // Assets next to a module (.proto, .json it reads through __dirname) travel with it.
    for (const f of readdirSync(dirname(abs))) if (/\.(proto|json)$/.test(f)) files.add(join(dirname(rel), f));
    for (const m of text.matchAll(spec)) {
      const s = m[2] ?? m[4] ?? m[6] ?? m[8];
      if (s.startsWith('.')) {
        const base = join(dirname(rel), s);
        const isDts = rel.endsWith('.d.ts');
        const candidates = /\.(json|js)$/.test(s) ? [base] : isDts ? [`${base}.d.ts`, join(base, 'index.d.ts')] : [`${base}.js`, join(base, 'index.js')];
        const hit = candidates.find((c) => existsSync(join(LIB, c)));
        if (!hit) throw new Error(`package: ${rel} imports ${s}, which was not built`);
        queue.push(hit);
        if (!isDts && hit.endsWith('.js')) queue.push(hit.replace(/\.js$/, '.d.ts'));
      } else if (!BUILTINS.has(s)) {
        const p = packageOf(s);
        if (!externals.has(p)) externals.set(p, rel);
      }
    }
  }
  return { files, externals };
}

function stage(spec: PackageSpec): string {
  const dir = join(BUILD, 'stage', spec.name);
  rmSync(dir, { recursive: true, force: true });
  const { files, externals } = walk(spec.entries);
  for (const f of files) {
    mkdirSync(dirname(join(dir, 'lib', f)), { recursive: true });
    copyFileSync(join(LIB, f), join(dir, 'lib', f));
  }
  const dependencies: Record<string, string> = {};
  for (const [p, from] of [...externals].sort(([a], [b]) => a.localeCompare(b))) {
    if (p in spec.peers) continue;
    if (!pinned[p]) throw new Error(`package: ${from} (in ${spec.name}) imports ${p}, which package.json does not pin`);
    dependencies[p] = pinned[p];
  }
  const manifest = {
    name: spec.name, version: v, description: spec.description, license: root.license,
    engines: { node: '>=20' },
    ...spec.manifest,
    files: ['lib', 'README.md'],
    dependencies,
    ...(Object.keys(spec.peers).length ? {
      peerDependencies: spec.peers,
      peerDependenciesMeta: Object.fromEntries(spec.optionalPeers.map((p) => [p, { optional: true }])),
    } : {}),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'README.md'), spec.readme);
  return dir;
}

/**
 * Builds, stages and packs every package into `outDir`; returns the tarball paths.
 * `buildDir` holds the compiled tree and the staged packages (emptied first).
 */
export function buildPackages(outDir: string, buildDir: string = join(ROOT, 'build', 'package')): string[] {
  BUILD = resolve(buildDir);
  LIB = join(BUILD, 'lib');
  rmSync(BUILD, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', LIB], { cwd: ROOT, stdio: 'inherit' });
  // The Envoy protos as one descriptor (api/xds/protos.ts reads it when present): the constructs
  // translate at synth time without installing @grpc/grpc-js-xds.
  const { loadProtoFiles } = require('../api/xds/protos') as typeof import('../api/xds/protos');
  const protos = loadProtoFiles();
  protos.resolveAll();
  writeFileSync(join(LIB, 'api', 'xds', 'envoy-protos.json'), JSON.stringify(protos.toJSON()));
  copyAssets();
  mkdirSync(outDir, { recursive: true });
  const out: string[] = [];
  for (const spec of PACKAGES) {
    const dir = stage(spec);
    const name = execFileSync('npm', ['pack', dir, '--pack-destination', outDir, '--silent'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    out.push(join(outDir, name));
  }
  return out;
}

/** Non-TypeScript files the modules read at run time (.proto, .json), mirrored into lib/. */
function copyAssets(): void {
  const visit = (rel: string) => {
    for (const f of readdirSync(join(ROOT, rel))) {
      const r = join(rel, f);
      if (statSync(join(ROOT, r)).isDirectory()) visit(r);
      else if (/\.(proto|json)$/.test(f) && existsSync(join(LIB, rel))) {
        copyFileSync(join(ROOT, r), join(LIB, r));
      }
    }
  };
  for (const d of ['api', 'constructs', 'stacks', 'cli', 'control-plane', 'proxy']) visit(d);
}

if (require.main === module) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, 'build', 'packages'));
  for (const t of buildPackages(outDir)) process.stdout.write(`${relative(process.cwd(), t) || t}\n`);
}
