/**
 * weft in a user's own repository, from the packed tarballs only: a project made of the cdk8s
 * typescript-app template's files (tsconfig.json, jest.config.js, cdk8s.yaml unchanged) with
 * cdk8s and constructs versions other than weft's own. It synthesizes, type-checks, runs a jest
 * snapshot test twice (the second with --ci), a mayCall assertion and a WeftMesh test under
 * Pulumi mocks, then `weft --help`, `weft check dist`; `weft init` makes a second project that
 * passes its own tests and runs under `weft up` (a request through the sidecars).
 * One install (beforeAll), shared by the init project through a node_modules link.
 * Tarballs: built here (package/build.ts) unless WEFT_PACKAGES_DIR holds them already.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPackages } from '../../package/build';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'user-repo');
const repo = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string>; dependencies: Record<string, string> };
const pin = (name: string) => repo.devDependencies[name] ?? repo.dependencies[name];
/** The user's versions: deliberately not weft's own (2.70 / 10.8). */
const USER_CDK8S = '2.69.42';
const USER_CONSTRUCTS = '10.4.5';
const TEMPLATE_FILES = ['tsconfig.json', 'jest.config.js', 'cdk8s.yaml'];

jest.setTimeout(300_000);

let work: string;
let project: string;
let packages: string;

/** The environment of a user's shell: nothing of this jest run leaks into the user's jest. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // CI is dropped too: jest reads it as --ci, which would refuse to write the first snapshot.
  for (const [k, v] of Object.entries(process.env)) if (!/^(JEST_|NODE_OPTIONS$|NODE_ENV$|TS_NODE_|npm_|CI$)/.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1' };
}

/** Runs a command in `cwd`; fails the test with its output when it exits non-zero. */
function run(cwd: string, cmd: string, args: string[], timeout = 240_000): string {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd} exited ${r.status ?? r.signal}:\n${out.slice(-6000)}`);
  return out;
}
// `--`: npx would otherwise read flags like --noEmit as its own.
const npx = (cwd: string, ...args: string[]) => run(cwd, 'npx', ['--no', '--', ...args]);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'weft-user-repo-'));
  const given = process.env.WEFT_PACKAGES_DIR;
  const tarball = (dir: string, name: string) => join(dir, `${name}-${repo.version}.tgz`);
  if (given && existsSync(tarball(given, 'weft-mesh')) && existsSync(tarball(given, 'weft-mesh-runtime'))) packages = resolve(given);
  else buildPackages(packages = join(work, 'packages'), join(work, 'build'));
  project = join(work, 'user-mesh');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({
    name: 'user-mesh', version: '1.0.0', private: true,
    scripts: { synth: 'cdk8s synth', test: 'jest' },
    dependencies: { cdk8s: USER_CDK8S, constructs: USER_CONSTRUCTS, 'weft-mesh': `file:${tarball(packages, 'weft-mesh')}` },
    devDependencies: {
      'weft-mesh-runtime': `file:${tarball(packages, 'weft-mesh-runtime')}`,
      ...Object.fromEntries(['@pulumi/pulumi', '@pulumi/kubernetes', 'cdk8s-cli', '@types/node', '@types/jest', 'jest', 'ts-jest', 'typescript', 'ts-node'].map((n) => [n, pin(n)])),
    },
  }, null, 2)}\n`);
  run(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], 480_000);
  const template = join(project, 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');
  for (const f of TEMPLATE_FILES) copyFileSync(join(template, f), join(project, f));
  for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(project, f.replace(/\.fixture$/, '')));
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the project keeps the template\'s tsconfig.json, jest.config.js and cdk8s.yaml byte for byte', () => {
  const template = join(project, 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');
  for (const f of TEMPLATE_FILES) expect(readFileSync(join(project, f), 'utf8')).toBe(readFileSync(join(template, f), 'utf8'));
  const jestConfig = readFileSync(join(project, 'jest.config.js'), 'utf8');
  expect(jestConfig).not.toMatch(/transformIgnorePatterns/);
});

test('one construct tree: weft-mesh uses the user\'s cdk8s and constructs, not copies of its own', () => {
  const weftDir = join(project, 'node_modules', 'weft-mesh');
  for (const [name, version] of [['cdk8s', USER_CDK8S], ['constructs', USER_CONSTRUCTS]]) {
    const fromWeft = require.resolve(`${name}/package.json`, { paths: [weftDir] });
    expect(fromWeft).toBe(join(project, 'node_modules', name, 'package.json'));
    expect((JSON.parse(readFileSync(fromWeft, 'utf8')) as { version: string }).version).toBe(version);
  }
  // the constructs-only package installs none of the runtime's heavy dependencies itself
  const manifest = JSON.parse(readFileSync(join(weftDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  expect(Object.keys(manifest.dependencies)).not.toEqual(expect.arrayContaining(['@grpc/grpc-js']));
  for (const heavy of ['@grpc/grpc-js', '@grpc/grpc-js-xds', '@kubernetes/client-node', '@pulumi/pulumi', 'pino', 'prom-client', '@peculiar/x509']) {
    expect(manifest.dependencies[heavy]).toBeUndefined();
  }
});

test('cdk8s synth writes the mesh', () => {
  const out = npx(project, 'cdk8s', 'synth', '--no-check-upgrade');
  expect(out).toMatch(/dist\/shop\.k8s\.yaml/);
  const yaml = readFileSync(join(project, 'dist', 'shop.k8s.yaml'), 'utf8');
  expect(yaml).toMatch(/kind: MeshService/);
  expect(yaml).toMatch(/kind: CanaryRoute/);
});

test('the escape hatches reach the manifests: the Deployment construct, app resources, the sidecar log level', () => {
  const yaml = readFileSync(join(project, 'dist', 'shop.k8s.yaml'), 'utf8');
  expect(yaml).toMatch(/team: payments/);
  expect(yaml).toMatch(/memory: 256Mi/);
  expect(yaml).toMatch(/WEFT_LOG_LEVEL[\s\S]{0,40}debug/);
});

test('a mesh with several mistakes: cdk8s synth lists every problem with its code and path, and no weft stack trace', () => {
  writeFileSync(join(project, 'broken.ts'), [
    "import { App, Chart } from 'cdk8s';",
    "import { CanaryRoute, Mesh, MeshService, Protocol } from 'weft-mesh';",
    'const app = new App();',
    "const chart = new Chart(app, 'shop', { namespace: 'shop' });",
    "const mesh = new Mesh(chart, 'mesh', { trustDomain: 'shop.local' });",
    "const api = new MeshService(chart, 'api', { mesh, port: 8080, protocol: Protocol.HTTP, ingress: true, versions: { v1: { image: 'r/api:1' }, v2: { image: 'r/api:2' } } });",
    'api.calls(api);',
    "new CanaryRoute(chart, 'api-canary', { service: api, port: 'grpc', split: { v1: 90, v2: 10 } });",
    'app.synth();',
    '',
  ].join('\n'));
  const r = spawnSync('npx', ['--no', '--', 'cdk8s', 'synth', '--no-check-upgrade', '-a', 'npx ts-node broken.ts', '-o', 'dist-broken'], { cwd: project, env: userEnv(), encoding: 'utf8', timeout: 240_000 });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status).not.toBe(0);
  expect(out).toMatch(/weft: synth failed: 2 problems in the mesh/);
  expect(out).toMatch(/WEFT_ERR_SELF_CALL \[shop\/api\]/);
  expect(out).toMatch(/WEFT_ERR_UNKNOWN_PORT \[shop\/api-canary\]/);
  // the only stack left is cdk8s-cli's own "returned a non-zero exit code" line; none from weft or the app
  expect(out).not.toMatch(/node_modules\/weft-mesh\/.*:\d+:\d+/);
  expect(out).not.toMatch(/broken\.ts:\d+:\d+/);
});

test('tsc --noEmit passes under the template\'s tsconfig (lib es2016)', () => {
  npx(project, 'tsc', '--noEmit');
});

test('jest: the snapshot, mayCall and WeftMesh tests pass, then again with --ci against the written snapshot', () => {
  const first = npx(project, 'jest');
  expect(first).toMatch(/Tests:\s+3 passed, 3 total/);
  expect(first).toMatch(/1 snapshot written/);
  const second = npx(project, 'jest', '--ci');
  expect(second).toMatch(/Tests:\s+3 passed, 3 total/);
  expect(second).toMatch(/Snapshots:\s+1 passed, 1 total/);
});

test('npx weft --help lists the commands; npx weft check dist finds no problems', () => {
  const help = npx(project, 'weft', '--help');
  for (const c of ['up', 'check', 'init', 'stat', 'proxy', 'control-plane']) expect(help).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  expect(npx(project, 'weft', 'check', 'dist')).toMatch(/no problems/);
});

describe('weft init', () => {
  let app: string;
  beforeAll(() => {
    app = join(work, 'init-app');
    npx(project, 'weft', 'init', app, '--from', packages, '--no-install');
    // The install is shared: the new project's dependencies are the ones installed above.
    symlinkSync(join(project, 'node_modules'), join(app, 'node_modules'), 'dir');
  });

  test('the new project depends on the tarballs and passes its own tests right away', () => {
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['weft-mesh']).toMatch(/^file:.*weft-mesh-.*\.tgz$/);
    const out = npx(app, 'jest');
    expect(out).toMatch(/Tests:\s+3 passed, 3 total/);
  });

  test('npx weft up runs its cdk8s app (cdk8s.yaml) in-process; a request crosses the sidecars', async () => {
    const child = spawn(join(app, 'node_modules', '.bin', 'weft'), ['up', '--expose', 'web=0', '--no-stat'], { cwd: app, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c; });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const url = await new Promise<string>((res, rej) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c;
          const m = /web\.shop: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) res(m[1]);
        });
        void exited.then((code) => rej(new Error(`weft up exited ${code} before serving:\n${err.slice(-4000)}`)));
      });
      const body = await new Promise<string>((res, rej) => {
        get(`${url}/`, (r) => { let t = ''; r.on('data', (c: Buffer) => { t += c; }); r.on('end', () => res(t)); }).on('error', rej);
      });
      expect(JSON.parse(body)).toMatchObject({ service: 'web', api: { service: 'api' } });
      expect(err).toMatch(/starting 3 replicas: api-v1-0, api-v2-0, web-v1-0/);
    } finally {
      child.kill('SIGINT');
    }
    // A drain that hangs must not hold the suite: SIGKILL after a bound (the exit code then fails the test).
    const force = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      expect(await exited).toBe(0);
    } finally {
      clearTimeout(force);
    }
  });
});
