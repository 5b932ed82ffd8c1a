/**
 * Builds the real OCI image with `image/build.sh` (buildah from scratch) and runs `weft self-check`,
 * `weft check` and the iptables init container's command inside it with podman + runc, as CI does. Skips only when buildah/podman/runc are missing and
 * cannot be installed; `.ci/run` installs them, so in CI this really runs.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { MeshService, Protocol } from '../../constructs';
import { DEFAULT_IMAGE_REPOSITORY, DEFAULT_IMAGE_TAG } from '../../constructs/mesh';
import { deployment, service, validDist, writeDist } from '../cli/check-fixtures';
import { find, fixture, synth } from '../constructs/support';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const TOOLS = ['buildah', 'podman', 'runc'];
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Undefined when the tools are there (installing them if we can), else why they are not. */
function toolsMissing(): string | undefined {
  if (TOOLS.every(has)) return undefined;
  const missing = TOOLS.filter((t) => !has(t));
  if (process.getuid?.() === 0 && has('apt-get')) {
    try {
      execFileSync('apt-get', ['install', '-y', '-qq', 'buildah', 'podman', 'runc'], { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch {
      // fall through: report what is still missing
    }
    if (TOOLS.every(has)) return undefined;
  }
  return `${missing.join(', ')} missing and not installable here (apt-get install -y buildah podman runc)`;
}

const skipReason = toolsMissing();
if (skipReason) console.warn(`SKIPPED test/image: ${skipReason}`);
const suite = skipReason ? describe.skip : describe;

suite('the weft OCI image', () => {
  let dir: string;
  let archive: string;
  let layerFiles: Map<string, string>; // path -> "uid/gid mode"
  let layerLinks: Map<string, string>; // symlink path -> target
  let config: { config: { User: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; Labels: Record<string, string> } };
  let refName: string;

  /** podman with a private vfs store, runc and the lowered ulimits these machines need. */
  const podman = (args: string[]) =>
    run('podman', ['--root', path.join(dir, 'store'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs', ...args], { maxBuffer: 16 << 20, timeout: 120_000 });
  const runArgs = ['run', '--rm', '--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--network=none'];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-image-test-'));
    archive = path.join(dir, 'weft-image.tar');
    const { stdout } = await run('bash', [path.join(ROOT, 'image/build.sh'), '--output', archive], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 << 20 });
    expect(stdout.trim()).toBe(archive);

    // Read the archive as an OCI layout: index -> manifest -> config + the one layer.
    const layout = path.join(dir, 'layout');
    fs.mkdirSync(layout);
    await run('tar', ['-xf', archive, '-C', layout]);
    const blob = (digest: string) => path.join(layout, 'blobs', ...digest.split(':'));
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    refName = index.manifests[0].annotations['org.opencontainers.image.ref.name'];
    const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
    config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
    layerFiles = new Map();
    layerLinks = new Map();
    for (const layer of manifest.layers as { digest: string }[]) {
      const { stdout: listing } = await run('tar', ['--numeric-owner', '-tzvf', blob(layer.digest)], { maxBuffer: 16 << 20 });
      for (const line of listing.split('\n').filter(Boolean)) {
        const cols = line.split(/\s+/);
        const [name, target] = cols.slice(5).join(' ').split(' -> ');
        layerFiles.set(name.replace(/\/$/, ''), `${cols[1]} ${cols[0]}`);
        if (target !== undefined) layerLinks.set(name, target);
      }
    }
    await podman(['load', '--quiet', '-i', archive]);
  }, 420_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('is named by the default repository and tag the Mesh construct references', () => {
    expect(refName).toBe(`${DEFAULT_IMAGE_REPOSITORY}:${DEFAULT_IMAGE_TAG}`);
    expect(refName).toBe(`ghcr.io/weft-mesh/weft:${VERSION}`);
    expect(config.config.Labels['org.opencontainers.image.version']).toBe(VERSION);
  });

  test('runs node on the bundle as uid 10001 with proxy as the default command', () => {
    expect(config.config.User).toBe('10001:10001');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/weft.js']);
    expect(config.config.Cmd).toEqual(['proxy']);
    expect(config.config.Env).toContain('WEFT_PROTO_DIR=/app/protos');
    expect(config.config.Env).toContain('PATH=/usr/local/bin:/usr/sbin'); // the init container's bare `iptables-restore`
  });

  test('holds iptables-restore/-save (nft backend), its libraries and exactly the shipped xtables extensions', () => {
    expect(layerFiles.get('usr/sbin/xtables-nft-multi')).toMatch(/^0\/0 -rwxr-xr-x/);
    expect(layerLinks.get('usr/sbin/iptables-restore')).toBe('xtables-nft-multi');
    expect(layerLinks.get('usr/sbin/iptables-save')).toBe('xtables-nft-multi');
    for (const lib of ['libxtables.so.12', 'libnftnl.so.11', 'libmnl.so.0']) expect(layerFiles.has(`lib/x86_64-linux-gnu/${lib}`)).toBe(true);
    const exts = [...layerFiles.keys()].filter((f) => f.startsWith('usr/lib/x86_64-linux-gnu/xtables/')).map((f) => path.basename(f)).sort();
    expect(exts).toEqual(['comment', 'multiport', 'owner', 'REDIRECT', 'standard', 'tcp', 'udp'].map((e) => `libxt_${e}.so`).sort());
  });

  test('holds node, its libraries, the bundle and the protos, and no shell or package manager', () => {
    for (const f of ['usr/local/bin/node', 'lib64/ld-linux-x86-64.so.2', 'app/weft.js', 'etc/passwd',
      'app/protos/envoy-api/envoy/service/discovery/v3/ads.proto', 'app/protos/protobufjs/google/protobuf/descriptor.proto']) {
      expect(layerFiles.has(f)).toBe(true);
    }
    const forbidden = [...layerFiles.keys()].filter((f) => /(^|\/)(s?bin\/\w+|sh|bash|dash|busybox|apt|apt-get|dpkg|apk|yum|dnf|microdnf|npm|npx)$/.test(f) && f !== 'usr/local/bin/node');
    expect(forbidden).toEqual([]);
    expect(layerFiles.get('home/weft')).toMatch(/^10001\/10001 d/);
    expect(layerFiles.get('app/weft.js')).toMatch(/^0\/0 -rw-r--r--/);
  });

  test('self-check passes inside the container: protos, keygen, mutual TLS, HTTP/1.1 and HTTP/2 as non-root', async () => {
    const image = `ghcr.io/weft-mesh/weft:${VERSION}`;
    const { stdout } = await podman([...runArgs, '--read-only', '--cap-drop=ALL', '--security-opt', 'no-new-privileges', image, 'self-check']);
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    expect(report.ok).toBe(true);
    expect(report.uid).toBe(10001);
    expect(report.gid).toBe(10001);
    expect(report.probes.map((p: { name: string; ok: boolean }) => `${p.name}:${p.ok}`)).toEqual(['protos:true', 'keygen:true', 'tls:true', 'http1:true', 'http2:true']);
    expect(report.probes[0].detail.includeDirs[0]).toBe('/app/protos/envoy-api');
  }, 120_000);

  test('weft check runs in the image on a read-only mounted dist: exit 0 clean, 1 with problems', async () => {
    const good = validDist();
    const bad = writeDist({ 'svc.yaml': [service, service, { ...deployment, spec: { ...deployment.spec, replicaz: 2 } }] });
    try {
      for (const d of [good, bad]) fs.chmodSync(d, 0o755); // readable by uid 10001
      const image = `ghcr.io/weft-mesh/weft:${VERSION}`;
      const check = (d: string) => podman([...runArgs, '--read-only', '-v', `${d}:/dist:ro`, image, 'check', '/dist']).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      const clean = await check(good);
      expect(clean).toMatchObject({ code: 0, stdout: expect.stringContaining('no problems') });
      const broken = await check(bad);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain('WEFT_ERR_DUPLICATE_NAME Service/shop/reviews');
      expect(broken.stdout).toContain('WEFT_ERR_CHECK_UNKNOWN_FIELD Deployment/shop/reviews-v1 spec.replicaz'); // the field table is bundled
    } finally {
      for (const d of [good, bad]) fs.rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  test('the bundle registers every command the CLI has (weft --help loads each module)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildProgram } = require('../../cli/main') as typeof import('../../cli/main');
    const expected = buildProgram().commands.map((c) => c.name());
    const { stdout } = await podman([...runArgs, `ghcr.io/weft-mesh/weft:${VERSION}`, '--help']);
    const listed = [...stdout.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]).filter((n) => n !== 'help');
    expect(listed).toEqual(expected);
  }, 120_000);

  describe('the iptables init container (the constructs\' exact command and rules, bookinfo reviews)', () => {
    const image = () => `ghcr.io/weft-mesh/weft:${VERSION}`;
    const netns = `weft-image-test-${process.pid}`;
    let rulesDir: string;
    let brokenDir: string;
    let command: string[];
    let rules: string;
    /** podman as the init container runs: root, only NET_ADMIN/NET_RAW, no privilege escalation. */
    const asInit = (network: string, mountDir: string, entrypoint: string[], args: string[] = [], caps = ['--cap-add', 'NET_ADMIN,NET_RAW']) =>
      podman([...runArgs.filter((a) => a !== '--network=none'), `--network=${network}`, '--user', '0:0', '--cap-drop=ALL', ...caps,
        '--security-opt', 'no-new-privileges', '-v', `${mountDir}:/etc/weft:ro`, '--entrypoint', JSON.stringify(entrypoint), image(), ...args]).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    /** The nat table of the test's network namespace, read by the image's own iptables-save. */
    const natRules = async () => {
      const r = await asInit(`ns:/run/netns/${netns}`, rulesDir, ['iptables-save'], ['-t', 'nat']);
      expect(r).toMatchObject({ code: 0 });
      return r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    };

    beforeAll(() => {
      const f = fixture();
      new MeshService(f.chart, 'reviews', { mesh: f.mesh, image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.18.0', port: 9080, protocol: Protocol.HTTP });
      const objs = synth(f.chart);
      const init = find(objs, 'Deployment', 'reviews-v1').spec.template.spec.initContainers.find((c: { name: string }) => c.name === 'weft-init');
      command = init.command;
      expect(init.image).toBe(image()); // the default iptablesImage is this image
      rules = find(objs, 'ConfigMap', 'reviews-v1-weft').data['iptables.rules'];
      rulesDir = fs.mkdtempSync(path.join(dir, 'rules-'));
      brokenDir = fs.mkdtempSync(path.join(dir, 'broken-'));
      fs.writeFileSync(path.join(rulesDir, 'iptables.rules'), rules);
      // One bad port in the last rule: the whole restore must fail and change nothing (it is atomic).
      fs.writeFileSync(path.join(brokenDir, 'iptables.rules'), rules.replace('--to-ports 15001', '--to-ports notaport'));
      for (const d of [rulesDir, brokenDir]) fs.chmodSync(d, 0o755);
      execFileSync('ip', ['netns', 'add', netns]);
    });

    afterAll(() => {
      try {
        execFileSync('ip', ['netns', 'delete', netns], { stdio: 'ignore' });
      } catch {
        // never created
      }
    });

    test('iptables-restore --noflush loads the synthesized rules into the pod network namespace', async () => {
      expect(command).toEqual(['iptables-restore', '--noflush', '/etc/weft/iptables.rules']);
      expect(rules).toContain('--dport 9080 -j REDIRECT --to-ports 15006');
      const r = await asInit(`ns:/run/netns/${netns}`, rulesDir, command);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const nat = await natRules();
      expect(nat).toEqual(expect.arrayContaining([
        ':WEFT_INBOUND - [0:0]',
        ':WEFT_OUTPUT - [0:0]',
        '-A PREROUTING -p tcp -j WEFT_INBOUND',
        '-A OUTPUT -p tcp -j WEFT_OUTPUT',
        '-A WEFT_INBOUND -p tcp -m tcp --dport 9080 -j REDIRECT --to-ports 15006',
        '-A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN',
        '-A WEFT_OUTPUT -d 127.0.0.1/32 -j RETURN',
        '-A WEFT_OUTPUT -p tcp -m tcp --dport 53 -j RETURN',
        '-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports 15001',
      ]));
      expect(nat.filter((l) => l.startsWith('-A '))).toHaveLength(rules.split('\n').filter((l) => l.startsWith('-A ')).length);
    }, 120_000);

    test('a broken rules file fails and changes nothing; without NET_ADMIN the restore is refused', async () => {
      const before = await natRules();
      const broken = await asInit(`ns:/run/netns/${netns}`, brokenDir, command);
      expect(broken.code).not.toBe(0);
      expect(broken.stderr).toMatch(/Port `notaport' not valid/);
      const noCaps = await asInit(`ns:/run/netns/${netns}`, rulesDir, ['iptables-restore', '/etc/weft/iptables.rules'], [], []);
      expect(noCaps.code).not.toBe(0);
      expect(noCaps.stderr).toMatch(/Permission denied/);
      expect(await natRules()).toEqual(before);
      // --test parses and checks without committing, in a throwaway namespace: good passes, broken fails.
      expect(await asInit('none', rulesDir, ['iptables-restore', '--test', '/etc/weft/iptables.rules'])).toMatchObject({ code: 0 });
      expect((await asInit('none', brokenDir, ['iptables-restore', '--test', '/etc/weft/iptables.rules'])).code).not.toBe(0);
    }, 120_000);
  });

  test('has no shell to exec: /bin/sh as entrypoint fails with 127', async () => {
    const err = await podman([...runArgs, '--entrypoint', '/bin/sh', `ghcr.io/weft-mesh/weft:${VERSION}`, '-c', 'id']).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(127);
    expect(err?.stderr).toMatch(/no such file or directory/);
  }, 120_000);
});
