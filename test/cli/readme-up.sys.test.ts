/**
 * The README after `npm start`, as a new user runs it, against one fresh `weft up` (bookinfo, the real
 * bin/weft.js in its own project directory): every `npx weft …` command the README names, exit code
 * and output. Then supervision on the same mesh: the productpage app and the control plane are
 * SIGKILLed and come back (restart count and state in run.json, `weft stat`), a retrying caller
 * through the ingress loses nothing, and SIGKILL of `weft up` takes every child with it.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { proxyStatus } from '../../cli/commands/proxy-status';
import type { RunInfo } from '../../cli/up/run-info';

jest.setTimeout(300_000);
const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'weft.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Run = { code: number | null; stdout: string; stderr: string };
/** `npx weft <args>` as the README writes it, run through bin/weft.js (npx resolves to it) in `cwd`. */
function weft(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls `probe` every 50 ms until it returns a value; fails after `tries` polls (a bound, not a clock assertion). */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, tries = 1200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Whether `pid` is a live process (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The `npx weft …` commands of the README (inline code and table cells), as written. */
function readmeCommands(): string[] {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...new Set([...md.matchAll(/`npx weft ([^`]*)`/g)].map((m) => m[1].trim()))];
}

describe('the README after npm start, on one fresh weft up', () => {
  let project: string;
  let up: ChildProcess | undefined;
  let ingress: string;
  const stderr: string[] = [];
  const runInfo = (): RunInfo => JSON.parse(readFileSync(join(project, '.weft', 'run.json'), 'utf8')) as RunInfo;

  beforeAll(async () => {
    // a project directory of its own (so `.weft` is this run's, as after `npm start` in a checkout);
    // the bookinfo apps' relative `local.command` paths resolve through the link
    project = mkdtempSync(join(tmpdir(), 'weft-readme-'));
    symlinkSync(join(ROOT, 'examples'), join(project, 'examples'));
    // the project's cdk8s.yaml names the app, as in the repository (`weft up` runs the app it names)
    copyFileSync(join(ROOT, 'cdk8s.yaml'), join(project, 'cdk8s.yaml'));
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules')); // the app's cdk8s, as after npm ci
    // `npm start` is `weft up --expose productpage=9080`; port 0 here, the machine is shared
    up = spawn(process.execPath, [BIN, 'up', '--expose', 'productpage=0', '--ready-timeout', '120000'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
    // `npm run synth` into this project's dist (for `weft check dist`), while the mesh starts
    const synth = new Promise<Run>((resolve) => execFile(process.execPath, [join(ROOT, 'constructs', 'synth-cli.js'), '-o', join(project, 'dist')], { cwd: ROOT, timeout: 240_000 }, (err, stdout, se) => resolve({ code: err ? 1 : 0, stdout, stderr: se })));
    ingress = await new Promise<string>((resolve, reject) => {
      createInterface({ input: up!.stdout! }).on('line', (line) => {
        const m = /productpage\.bookinfo: (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (m) resolve(m[1]);
      });
      up!.once('exit', (code) => reject(new Error(`weft up exited ${code}: ${stderr.join('')}`)));
    });
    const s = await synth;
    if (s.code !== 0) throw new Error(`npm run synth failed: ${s.stdout}${s.stderr}`);
  });

  afterAll(() => {
    if (up && up.exitCode === null) up.kill('SIGKILL');
    rmSync(project, { recursive: true, force: true });
  });

  test('a clean start prints no warning: the control plane log has no WEFT_ERR and no reportStatus error', async () => {
    // let the ingress sidecar register and a status report happen: one request through the mesh
    expect((await get(`${ingress}/`)).status).toBe(200);
    const log = readFileSync(join(project, '.weft', 'logs', 'control-plane.log'), 'utf8');
    const warnings = log.split('\n').filter((l) => /"level":(40|50)/.test(l) || /WEFT_ERR_|reportStatus/.test(l));
    expect(warnings).toEqual([]);
    expect(stderr.join('')).not.toMatch(/WEFT_ERR_|warn/i);
  });

  test('every `npx weft …` command of the README works as written', async () => {
    // What each README command must print; a command added to the README without a check here fails.
    const checks: Record<string, (r: Run) => void> = {
      'stat': (r) => {
        expect(r.stdout).toMatch(/^NAMESPACE\s+SERVICE\s+VERSION\s+MESHED\s+RESTARTS/m);
        expect(r.stdout).toMatch(/bookinfo\s+reviews\s+v2\s+1\/1\s+0\s/);
        expect(r.stdout).toMatch(/control plane: running, 0 restart\(s\)/);
        expect(r.stdout).toMatch(/one \d+\.\ds window/);
      },
      'proxy-status': (r) => {
        for (const id of ['productpage-v1-0', 'reviews-v1-0', 'ratings-v1-0', 'weft-ingress-0']) expect(r.stdout).toMatch(new RegExp(`^${id}\\s+sidecar\\s+\\S+\\s+ACK `, 'm'));
        expect(r.stdout).not.toMatch(/NACK/);
      },
      'config-dump reviews-v1-0': (r) => {
        const dump = JSON.parse(r.stdout) as { node: { id: string }; bound: Record<string, string>; config: { listeners: Record<string, { address: string; port: number; configuredAddress?: string }> } };
        expect(dump.node.id).toBe('reviews-v1-0');
        const boot = JSON.parse(readFileSync(join(project, '.weft', 'proxies', 'reviews-v1-0', 'bootstrap.json'), 'utf8')) as { ports: { inbound: number; outbound: number } };
        // the loopback ports in use, not the pod's 0.0.0.0:15006 / 15001
        expect(dump.config.listeners.inbound).toMatchObject({ address: '127.0.0.1', port: boot.ports.inbound, configuredAddress: '0.0.0.0:15006' });
        expect(dump.config.listeners.outbound).toMatchObject({ address: '127.0.0.1', port: boot.ports.outbound });
        expect(dump.bound.inbound).toBe(`127.0.0.1:${boot.ports.inbound}`);
      },
      'check dist': (r) => expect(r.stdout).toMatch(/^weft check: \d+ object\(s\) in \d+ file\(s\), no problems/m),
      '--help': (r) => {
        for (const c of ['up', 'stat', 'check', 'config-dump', 'proxy', 'control-plane', 'proxy-status', 'self-check']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
        expect(r.stdout).toMatch(/-V, --version/);
      },
      '--version': (r) => expect(r.stdout.trim()).toBe(VERSION),
      'export --to istio dist': (r) => {
        expect(r.stdout).toMatch(/^kind: VirtualService$/m);
        expect(r.stdout).toMatch(/^kind: AuthorizationPolicy$/m);
      },
    };
    // The user's path (`weft init`, `weft up` in a user's project) runs from the packed tarballs in
    // test/package/user-repo.sys.test.ts; this test walks the in-repo path after `npm start`.
    const USER_PATH = new Set(['init', 'init my-mesh', 'up --expose web=8080']);
    const commands = readmeCommands().filter((c) => !USER_PATH.has(c));
    expect(commands).toEqual(expect.arrayContaining(['stat', 'proxy-status', 'config-dump reviews-v1-0', 'check dist', '--help', '--version']));
    // the README's `curl localhost:9080/`, on this run's ingress port
    expect((await get(`${ingress}/`)).status).toBe(200);
    const missing = commands.filter((c) => !checks[c]);
    if (missing.length) throw new Error(`README names ${missing.map((c) => `\`npx weft ${c}\``).join(', ')} and this test has no check for it: add one`);
    // independent commands: run side by side (each is a node start)
    const runs = await Promise.all(commands.map(async (c) => ({ c, r: await weft(c.split(/\s+/), project) })));
    for (const { c, r } of runs) {
      if (r.code !== 0) throw new Error(`npx weft ${c}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      checks[c](r);
    }
  });

  test('a SIGKILLed app and control plane come back (restart count, state); a retrying caller through the ingress loses nothing', async () => {
    // the caller retries each request until it gets a 200 (up to 400 tries, 50 ms apart): a request is lost only when every try failed
    let stop = false;
    let ok = 0;
    let lost = 0;
    const caller = (async () => {
      while (!stop) {
        let done = false;
        for (let attempt = 0; attempt < 400 && !done; attempt++) {
          const r = await get(`${ingress}/productpage?id=1`).catch(() => ({ status: 0, body: '' }));
          if (r.status === 200 && (JSON.parse(r.body) as { id?: number }).id === 1) done = true;
          else await new Promise((res) => setTimeout(res, 50));
        }
        if (done) ok++;
        else lost++;
      }
    })();
    await until('the caller\'s first answers', () => ok >= 5);

    const before = runInfo();
    const page = before.proxies.find((p) => p.id === 'productpage-v1-0')!;
    const appPid = page.pids!.app;
    process.kill(appPid, 'SIGKILL');
    const pageBack = await until('productpage-v1-0 restarted and running', () => {
      const p = runInfo().proxies.find((x) => x.id === 'productpage-v1-0')!;
      return p.state === 'running' && p.restarts === 1 && p.pids!.app !== appPid ? p : undefined;
    });
    expect(alive(pageBack.pids!.app)).toBe(true);
    const okAfterApp = ok;
    await until('answers after the app restart', () => ok >= okAfterApp + 5);

    const cpPid = before.controlPlane.pids!['control-plane'];
    process.kill(cpPid, 'SIGKILL');
    await until('the control plane restarted and running', () => {
      const cp = runInfo().controlPlane;
      return cp.state === 'running' && cp.restarts === 1 && cp.pids!['control-plane'] !== cpPid;
    });
    // every sidecar reconnected to the new control plane and ACKed its config
    await until('all proxies ACKed by the restarted control plane', async () => {
      const rows = (await proxyStatus({ url: runInfo().controlPlane.status }).catch(() => undefined))?.rows ?? [];
      return rows.length === 7 && rows.every((p) => ['LDS', 'CDS'].every((t) => p.types[t].startsWith('ACK'))) ? true : undefined;
    });
    const okAfterCp = ok;
    await until('answers after the control-plane restart', () => ok >= okAfterCp + 5);
    stop = true;
    await caller;
    expect({ lost, okAtLeast: ok >= 15 }).toEqual({ lost: 0, okAtLeast: true });
    // the restarts show in `weft stat` too
    const stat = await weft(['stat', '-o', 'json'], project);
    const rows = JSON.parse(stat.stdout) as { service: string; up: number; replicas: number; restarts: number }[];
    expect(rows.find((r) => r.service === 'productpage')).toMatchObject({ up: 1, replicas: 1, restarts: 1 });
    expect(stderr.join('')).toMatch(/productpage-v1-0 exited \(signal SIGKILL\); restarting in 1s[\s\S]*control-plane exited \(signal SIGKILL\); restarting in 1s/);
  });

  test('SIGKILL of weft up takes every child (apps, sidecars, control plane, reaper) with it', async () => {
    const info = runInfo();
    const pids = [info.reaperPid!, ...Object.values(info.controlPlane.pids ?? {}), ...info.proxies.flatMap((p) => Object.values(p.pids ?? {}))];
    expect(pids.length).toBe(1 + 1 + 6 * 2 + 1);
    expect(pids.every(alive)).toBe(true);
    const exited = new Promise((r) => up!.once('exit', r));
    up!.kill('SIGKILL');
    await exited;
    await until('every child of the killed weft up gone', () => (pids.every((p) => !alive(p)) ? true : undefined), 400);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(join(project, '.weft', 'run.json'))).toBe(true); // nobody removed it: the next command says "gone"
    const r = await weft(['stat'], project);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/WEFT_ERR_UP_NOT_RUNNING/);
  });
});
