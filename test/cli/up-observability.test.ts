/** `weft up` and observability: the mesh's settings and the --trace-to/--access-logs flags land in each sidecar's bootstrap. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBootstrap } from '../../api/bootstrap';
import { readManifests } from '../../control-plane/sources/manifests';
import { commandLineObservability } from '../../cli/up/mesh';
import { planMesh } from '../../cli/up/plan';
import { type ReplicaContext, writeBootstrap } from '../../cli/up/replica';
import { synthesize } from '../../cli/up/synth';
import { buildProgram } from '../../cli/main';

const ROOT = join(__dirname, '..', '..');
let dir: string;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'weft-up-obs-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ports = { inbound: 1, outbound: 2, admin: 3, app: { http: 4 } };
const ctxFor = (stateDir: string, extra: Partial<ReplicaContext> = {}): ReplicaContext => ({
  stateDir, projectDir: ROOT, trustDomain: 'bookinfo.local', xds: '127.0.0.1:1', ca: '127.0.0.1:2',
  mintToken: () => 'token', sidecar: { argv: ['node'], env: {} }, ...extra,
});

async function plan(name: string, observability?: unknown) {
  const dist = await synthesize({ app: 'examples/bookinfo/mesh.ts#bookinfo', props: observability ? { observability } : {}, outdir: join(dir, name, 'dist'), cwd: ROOT });
  return planMesh(await readManifests(dist), ['productpage=9080']);
}

async function bootstrapOf(stateDir: string, rp: Parameters<typeof writeBootstrap>[1], extra: Partial<ReplicaContext> = {}) {
  return parseBootstrap(JSON.parse(readFileSync(await writeBootstrap(ctxFor(stateDir, extra), rp, ports), 'utf8')));
}

test('the Mesh\'s observability reaches every replica\'s bootstrap; the plan keeps it for the ingress sidecar', async () => {
  const p = await plan('mesh', { tracing: { sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' }, accessLogs: true });
  expect(p.observability).toEqual({ tracing: { sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' }, accessLogs: true });
  for (const rp of p.replicas) {
    const b = await bootstrapOf(join(dir, 'mesh'), rp);
    expect({ id: rp.id, tracing: b.tracing, accessLog: b.accessLog }).toEqual({ id: rp.id, tracing: { sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' }, accessLog: true });
  }
}, 60_000);

test('--trace-to and --access-logs turn both on over a mesh that has neither', async () => {
  const p = await plan('flags');
  const rp = p.replicas.find((r) => r.id === 'reviews-v2-0')!;
  const off = await bootstrapOf(join(dir, 'flags'), rp);
  expect(off.tracing).toBeUndefined();
  expect(off.accessLog).toBeUndefined();
  const observability = commandLineObservability({ traceTo: 'http://127.0.0.1:4318', accessLogs: true });
  const on = await bootstrapOf(join(dir, 'flags'), rp, { observability });
  expect(on.tracing).toEqual({ sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' });
  expect(on.accessLog).toBe(true);
  // --access-logs alone leaves tracing off
  expect((await bootstrapOf(join(dir, 'flags'), rp, { observability: commandLineObservability({ accessLogs: true }) })).tracing).toBeUndefined();
}, 60_000);

test('--trace-to keeps the mesh\'s protocol and overrides its endpoint and rate', async () => {
  const p = await plan('over', { tracing: { sampleRate: 0.1, otlpEndpoint: 'http://otel:4318', protocol: 'http/json' } });
  const b = await bootstrapOf(join(dir, 'over'), p.replicas[0], { observability: commandLineObservability({ traceTo: 'http://127.0.0.1:9999' }) });
  expect(b.tracing).toEqual({ sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:9999', protocol: 'http/json' });
}, 60_000);

test.each(['127.0.0.1:4318', 'ftp://x', 'http://a:b@x:1'])('--trace-to %p is WEFT_ERR_UP_OBSERVABILITY (exit 2)', (url) => {
  expect(() => commandLineObservability({ traceTo: url })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_UP_OBSERVABILITY', exitCode: 2 }));
});

test('no flags: no override', () => {
  expect(commandLineObservability({})).toBeUndefined();
});

test('the CLI flags reach startLocalMesh: a bad --trace-to or --prometheus port is a usage error (exit 2) before anything starts', async () => {
  const run = (args: string[]) => buildProgram().exitOverride().parseAsync(['node', 'weft', ...args]);
  await expect(run(['up', '--trace-to', 'otel:4318', '--state-dir', join(dir, 'cli1'), '--no-stat'])).rejects.toMatchObject({ code: 'WEFT_ERR_UP_OBSERVABILITY', exitCode: 2 });
  await expect(run(['up', '--prometheus', 'x', '--state-dir', join(dir, 'cli2'), '--no-stat'])).rejects.toMatchObject({ code: 'WEFT_ERR_UP_OBSERVABILITY', exitCode: 2 });
});
