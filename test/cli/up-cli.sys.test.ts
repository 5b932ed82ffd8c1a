/**
 * The `weft up`, `weft stat` and `weft config-dump` commands as a user runs them: the real
 * bin/weft.js process, the live output, Ctrl-C (SIGINT) stopping everything with exit code 0;
 * and the coded errors with their exit codes.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildProgram } from '../../cli/main';

jest.setTimeout(240_000);
const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'weft.js');

function weft(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function getText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('coded errors', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'weft-up-cli-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => buildProgram().exitOverride().parseAsync(['node', 'weft', ...args]);

  test('stat and config-dump without a running mesh: WEFT_ERR_UP_NOT_RUNNING, exit code 3', async () => {
    await expect(run(['stat', '--state-dir', dir])).rejects.toMatchObject({ code: 'WEFT_ERR_UP_NOT_RUNNING', exitCode: 3 });
    await expect(run(['config-dump', 'ratings', '--state-dir', dir])).rejects.toMatchObject({ code: 'WEFT_ERR_UP_NOT_RUNNING', exitCode: 3 });
  });

  test('up with a missing app or a bad --expose: usage errors, exit code 2', async () => {
    await expect(run(['up', join(dir, 'nope.ts'), '--state-dir', join(dir, 's1'), '--no-stat'])).rejects.toMatchObject({ code: 'WEFT_ERR_UP_APP', exitCode: 2 });
    await expect(run(['up', '--expose', 'nosuch=1', '--state-dir', join(dir, 's2'), '--no-stat'])).rejects.toMatchObject({ code: 'WEFT_ERR_UP_EXPOSE', exitCode: 2 });
  }, 60_000);
});

describe('weft up as a process', () => {
  let dir: string;
  let up: ChildProcess | undefined;
  const lines: string[] = [];

  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'weft-up-proc-'))));
  afterAll(() => {
    if (up && up.exitCode === null) up.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts bookinfo, serves through the ingress, stat and config-dump see it, Ctrl-C stops it with exit 0', async () => {
    const state = join(dir, '.weft');
    up = spawn(process.execPath, [BIN, 'up', '--expose', 'productpage=0', '--state-dir', state, '--ready-timeout', '120000'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    up.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: up!.stdout! }).on('line', (line) => {
        lines.push(line);
        const m = /productpage\.bookinfo: (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (m) resolve(m[1]);
      });
      up!.once('exit', (code) => reject(new Error(`weft up exited ${code}: ${stderr.join('')}`)));
    });
    expect(stderr.join('')).toMatch(/weft up: starting the control plane/);
    const page = await getText(`${url}/productpage?id=2`);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ id: 2, details: { id: 2 } });
    for (let i = 0; i < 20; i++) await getText(`${url}/productpage?id=1`);
    // The sidecars reached the CA over TLS: their bootstrap names the root weft up wrote, and renew by certificate.
    const boot = JSON.parse(readFileSync(join(state, 'proxies', 'productpage-v1-0', 'bootstrap.json'), 'utf8')) as { identity: Record<string, unknown> };
    expect(boot.identity).toMatchObject({ caTrustAnchorFile: join(state, 'ca-root.pem'), renewWithCertificate: true });
    expect((boot as unknown as { controlPlane: Record<string, unknown> }).controlPlane).toMatchObject({ xdsIdentity: 'spiffe://bookinfo.local/ns/weft-system/sa/weft-control-plane' });
    expect(new X509Certificate(readFileSync(join(state, 'ca-root.pem'))).fingerprint256).toBe(new X509Certificate(readFileSync(join(state, 'ca', 'tls.crt'))).fingerprint256);

    const stat = await weft(['stat', '-o', 'json', '--state-dir', state], ROOT);
    expect(stat.code).toBe(0);
    const rows = JSON.parse(stat.stdout) as { service: string; version: string; up: number; replicas: number }[];
    expect(rows.map((r) => `${r.service}/${r.version}`)).toEqual(['details/v1', 'productpage/v1', 'ratings/v1', 'reviews/v1', 'reviews/v2']);
    expect(rows.every((r) => r.up === r.replicas)).toBe(true);

    const dump = await weft(['config-dump', 'productpage', '--state-dir', state], ROOT);
    expect(dump.code).toBe(0);
    expect(JSON.parse(dump.stdout)).toMatchObject({ node: { id: 'productpage-v1-0', service: 'productpage' } });
    // xDS over TLS too, with the workload certificate presented (node authentication), from the serving cert weft up wrote
    expect(JSON.parse(dump.stdout).xds).toMatchObject({ connected: true, tls: true, clientIdentity: expect.stringMatching(/^spiffe:\/\/bookinfo.local\/ns\/[a-z-]+\/sa\/productpage$/) });
    expect(readFileSync(join(state, 'xds-tls', 'tls.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    const unknown = await weft(['config-dump', 'nosuch', '--state-dir', state], ROOT);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/WEFT_ERR_UP_UNKNOWN_PROXY/);

    const exited = new Promise<number | null>((r) => up!.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr.join('')).toMatch(/stopping: ingress[\s\S]*stopping: control plane[\s\S]*stopped/);
    expect(existsSync(join(state, 'run.json'))).toBe(false);
  });
});
