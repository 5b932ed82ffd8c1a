/**
 * `weft control-plane` as a real process (bin/weft.js) with the local source: it prints one ready
 * line, serves /ready /live /status /metrics, writes the status file, and exits 0 on SIGTERM.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../cli/main';
import { Command } from 'commander';
import { addControlPlaneOptions, optionsFromFlags } from '../../control-plane/main';

const MESH = `apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: web, namespace: demo }
spec:
  serviceAccount: web
  interception: explicit
  ports: [{ name: http, port: 8080, protocol: http }]
  versions: [{ name: v1, replicas: 1 }]
---
apiVersion: weft.dev/v1alpha1
kind: CanaryRoute
metadata: { name: web-canary, namespace: demo }
spec:
  service: { name: web }
  routes: [{ backends: [{ version: v9, weight: 100 }] }]
`;

let root: string;
let child: ChildProcessWithoutNullStreams | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-cp-'));
  await mkdir(join(root, 'dist'));
  await writeFile(join(root, 'dist', 'mesh.k8s.yaml'), MESH);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

test('flags are checked once, with coded usage errors', () => {
  expect(optionsFromFlags({ source: 'local', port: '0', statusPort: '0' })).toMatchObject({ source: 'local', host: '127.0.0.1', port: 0, statusPort: 0 });
  expect(optionsFromFlags({ source: 'kubernetes' })).toMatchObject({ host: '0.0.0.0', port: 15010, statusPort: 15014 });
  expect(() => optionsFromFlags({ source: 'local', port: 'http' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CP_USAGE', exitCode: 2 }));
  expect(() => optionsFromFlags({ source: 'consul' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CP_USAGE' }));
  // The exact argv the constructs put in the control-plane Deployment parses.
  const cmd = addControlPlaneOptions(new Command('x')).exitOverride();
  cmd.parse(['control-plane', '--source=kubernetes', '--mesh-config=mesh', '--xds-port=15010', '--ca-port=15012', '--admin-port=15014'].slice(1), { from: 'user' });
  expect(optionsFromFlags(cmd.opts())).toMatchObject({ source: 'kubernetes', meshConfig: 'mesh', port: 15010, caPort: 15012, statusPort: 15014 });
  const names = buildProgram().commands.map((c) => c.name());
  expect(names).toEqual(expect.arrayContaining(['control-plane', 'proxy-status']));
});

test('runs, serves the operator endpoints, writes status.json, and shuts down gracefully on SIGTERM', async () => {
  const stateDir = join(root, 'state');
  child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'weft.js'), 'control-plane', '--source', 'local', '--dist', join(root, 'dist'), '--port', '0', '--status-port', '0', '--state-dir', stateDir], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
  const ready = await new Promise<{ xdsPort: number; statusPort: number }>((resolve, reject) => {
    let out = '';
    child!.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { xdsPort: number; statusPort: number });
    });
    void exited.then((code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
  });
  expect(ready.xdsPort).toBeGreaterThan(0);
  const base = `http://127.0.0.1:${ready.statusPort}`;
  expect((await fetch(`${base}/live`)).status).toBe(200);
  expect((await fetch(`${base}/ready`)).status).toBe(200);
  const status = (await (await fetch(`${base}/status`)).json()) as { clients: unknown[]; resources: { kind: string; name: string; resolvedRefs: boolean; reason: string }[] };
  expect(status.clients).toEqual([]);
  expect(status.resources.find((r) => r.kind === 'CanaryRoute')).toMatchObject({ name: 'web-canary', resolvedRefs: false });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/weft_source_snapshots_total\{source="local"\} 1/);
  expect(metrics).toContain('weft_xds_connected_clients');
  // The verdicts went to the state dir (the CanaryRoute names a version that does not exist).
  const file = join(stateDir, 'status.json');
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
  const written = JSON.parse(await readFile(file, 'utf8')) as { resources: { kind: string; resolvedRefs: boolean }[] };
  expect(written.resources.find((r) => r.kind === 'CanaryRoute')?.resolvedRefs).toBe(false);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stderr).toContain('SIGTERM: shutting down');
}, 120_000);
