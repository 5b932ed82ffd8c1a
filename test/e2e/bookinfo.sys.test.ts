/**
 * End to end, real processes: `startLocalMesh` runs bookinfo (control plane, CA, five services
 * with sidecars over real mTLS, an ingress) and the tests drive it through the exposed ingress.
 * One mesh for the file, scenarios in order; everything is stopped in afterAll, also on failure.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startLocalMesh, type LocalMesh } from '../../cli/up/mesh';
import { backgroundLoad, closeLoadAgent, fullSuccess, get, type Outcome, reviewsVersion, runLoad } from './support/load';
import { expectBinomial } from '../support/stats';

// generous bounds: they only stop a hung run (a busy 2-core machine took 14 min for this file)
jest.setTimeout(600_000);

const ROOT = join(__dirname, '..', '..');
let mesh: LocalMesh | undefined;
let stateDir: string;
let page: string;

/** The config version a sidecar's admin /config_dump reports. */
async function configVersion(adminUrl: string): Promise<string | undefined> {
  return ((await (await fetch(`${adminUrl}/config_dump`)).json()) as { version?: string }).version;
}

/** Sequential requests until a window of `size` satisfies `ok` (bounded); returns when it started. */
async function pollUntil(url: string, size: number, ok: (w: readonly Outcome[]) => boolean, maxRequests: number): Promise<Outcome | undefined> {
  const seen: Outcome[] = [];
  for (let i = 0; i < maxRequests; i++) {
    seen.push(await get(url));
    if (seen.length >= size && ok(seen.slice(-size))) return seen[seen.length - size];
  }
  return undefined;
}

const share = (w: readonly Outcome[], v: string) => w.filter((o) => reviewsVersion(o) === v).length / w.length;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  mesh = await startLocalMesh({
    app: join(__dirname, 'fixtures', 'bookinfo-e2e.ts#bookinfoE2e'),
    projectDir: ROOT,
    stateDir,
    exposes: ['productpage', 'ratings'],
    onProgress: (m) => process.stderr.write(`[weft up] ${m}\n`),
    readyTimeoutMs: 300_000,
  });
  page = `${mesh.ingressUrl('productpage')}/productpage?id=1`;
}, 600_000);

afterAll(async () => {
  await mesh?.stop();
  closeLoadAgent();
  if (process.env.WEFT_E2E_KEEP) process.stderr.write(`kept ${stateDir}\n`);
  else rmSync(stateDir, { recursive: true, force: true });
}, 180_000);

test('canary: 2,000 requests split 90/10 between reviews v1 and v2 (±3 points)', async () => {
  const out = await runLoad(page, 2000, 6);
  expect(out.filter((o) => o.status !== 200)).toEqual([]);
  expect(share(out, 'v1') + share(out, 'v2')).toBe(1);
  expectBinomial('reviews v2 of 2000 at the 90/10 canary', out.filter((o) => reviewsVersion(o) === 'v2').length, out.length, 0.1);
});

test('canary: the x-canary header sends 100 % to v2', async () => {
  const out = await runLoad(page, 200, 6, { 'x-canary': 'always' });
  expect(out.filter((o) => !fullSuccess(o))).toEqual([]);
  expect(share(out, 'v2')).toBe(1);
});

test('STRICT mTLS: plaintext straight to a sidecar inbound port gets no HTTP answer', async () => {
  const ratings = mesh!.replicas.find((r) => r.plan.service === 'ratings')!;
  const got = await new Promise<string>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: ratings.ports.inbound });
    let data = '';
    s.on('connect', () => s.write('GET /ratings/1 HTTP/1.1\r\nHost: ratings\r\n\r\n'));
    s.on('data', (c) => (data += c.toString('latin1')));
    s.on('close', () => resolve(data));
    s.on('error', () => undefined);
    s.setTimeout(10_000, () => s.destroy());
  });
  expect(got.startsWith('HTTP/')).toBe(false);
});

test('authorization: a caller ratings does not admit gets 403 naming the policy', async () => {
  const r = await get(`${mesh!.ingressUrl('ratings')}/ratings/1`);
  expect(r.status).toBe(403);
  expect(`${r.weftError} ${r.body}`).toMatch(/ratings-callers/);
});

test('failure: killing one ratings replica under load keeps success ≥ 99.9 %', async () => {
  const load = backgroundLoad(page, 4, { 'x-canary': 'always' });
  await until(() => load.count() >= 150);
  await mesh!.killReplica('ratings-v1-0');
  const at = load.count();
  await until(() => load.count() >= at + 400);
  const out = await load.stop();
  const ok = out.filter(fullSuccess).length;
  expect(out.length).toBeGreaterThanOrEqual(550);
  expect(ok / out.length).toBeGreaterThanOrEqual(0.999);
});

test('live change: once every productpage sidecar holds the new config version, requests split 50/50, with zero failed requests', async () => {
  // Measured in config versions, not seconds: a busy machine may take longer to push, never to apply wrongly.
  const callers = mesh!.replicas.filter((r) => r.plan.service === 'productpage');
  expect(callers.length).toBeGreaterThan(0);
  const before = await Promise.all(callers.map((r) => configVersion(r.adminUrl)));
  const load = backgroundLoad(page, 4);
  await until(() => load.count() >= 100);
  await mesh!.setCanaryWeights('reviews-canary', { v1: 50, v2: 50 }, 'bookinfo');
  // generous bound: it only stops a hung test
  await untilAsync(async () => (await Promise.all(callers.map((r) => configVersion(r.adminUrl)))).every((v, i) => v !== before[i]), 300_000);
  const appliedAt = Date.now();
  const atApply = load.count();
  await until(() => load.count() >= atApply + 404, 300_000);
  const out = await load.stop();
  expect(out.filter((o) => o.status !== 200)).toEqual([]);
  // outcomes are stamped when they complete: skip the (concurrency) requests in flight at apply time
  const after = [...out].sort((a, b) => a.at - b.at).filter((o) => o.at > appliedAt).slice(4);
  expect(after.length).toBeGreaterThanOrEqual(400);
  expectBinomial('reviews v2 of the requests sent after the new version was applied, expected weight 0.5', after.filter((o) => reviewsVersion(o) === 'v2').length, after.length, 0.5);
});

test('control plane killed under load: zero failed requests; restarted, changes apply again', async () => {
  const load = backgroundLoad(page, 4);
  await until(() => load.count() >= 100);
  await mesh!.controlPlane.kill();
  const at = load.count();
  await until(() => load.count() >= at + 300);
  const out = await load.stop();
  expect(out.filter((o) => o.status !== 200)).toEqual([]);
  await mesh!.controlPlane.restart();
  await mesh!.setCanaryWeights('reviews-canary', { v1: 100, v2: 0 }, 'bookinfo');
  const converged = await pollUntil(page, 40, (w) => share(w, 'v1') === 1, 3000);
  expect(converged).toBeDefined();
});

test('stop (Ctrl-C) loses no in-flight request', async () => {
  const m = mesh!;
  const ing = m.ingresses.find((i) => i.service === 'productpage')!;
  // fresh connections, and stop only once the ingress has parsed every request: they are in flight
  const before = ing.accepted();
  const inflight = Array.from({ length: 20 }, () => get(page, {}, true));
  await until(() => ing.accepted() - before === 20, 120_000, 1);
  const inFlightAtStop = ing.inFlight();
  const stopped = m.stop();
  const out = await Promise.all(inflight);
  await stopped;
  mesh = undefined;
  expect(inFlightAtStop).toBeGreaterThan(0);
  expect(out.filter((o) => o.status !== 200)).toEqual([]);
});

/** Polls an async `cond` every 50 ms (bounded). */
async function untilAsync(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `cond` every 20 ms (bounded). */
async function until(cond: () => boolean, timeoutMs = 300_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Transparent mode needs Linux, root, `ip` and `iptables` (CI runs as root with iproute2 + iptables). */
function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const [tool, flag] of [['ip', '-V'], ['iptables', '--version']]) {
    try {
      execFileSync(tool, [flag], { stdio: 'ignore' });
    } catch {
      return `no ${tool}`;
    }
  }
  return undefined;
}

const netnsSkip = netnsUnavailable();
(netnsSkip ? describe.skip : describe)(`--netns (transparent mode)${netnsSkip ? ` skipped: ${netnsSkip}` : ''}`, () => {
  let ns: LocalMesh | undefined;
  let nsState: string;
  let nsPage: string;

  beforeAll(async () => {
    nsState = mkdtempSync(join(tmpdir(), 'weft-e2e-netns-'));
    ns = await startLocalMesh({
      app: join(__dirname, 'fixtures', 'bookinfo-e2e.ts#bookinfoE2e'), appProps: { ratingsReplicas: 1 },
      projectDir: ROOT, stateDir: nsState, exposes: ['productpage'], netns: true, readyTimeoutMs: 300_000,
      onProgress: (m) => process.stderr.write(`[weft up --netns] ${m}\n`),
    });
    nsPage = `${ns.ingressUrl('productpage')}/productpage?id=1`;
  }, 600_000);

  afterAll(async () => {
    await ns?.stop();
    rmSync(nsState, { recursive: true, force: true });
  }, 180_000);

  test('each replica has its own namespace and address; apps run without HTTP_PROXY', () => {
    const addresses = ns!.replicas.map((r) => r.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const a of addresses) expect(a).toMatch(/^10\.250\.\d+\.\d+$/);
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(namespaces.match(/^weft-/gm)?.length ?? 0).toBeGreaterThanOrEqual(ns!.replicas.length);
    for (const r of ns!.replicas) expect(r.ports).toMatchObject({ inbound: 15006, outbound: 15001, admin: 15020, app: { http: 9080 } });
  });

  test('canary: 2,000 requests split 90/10 (±3 points); the header pins v2', async () => {
    const out = await runLoad(nsPage, 2000, 6);
    expect(out.filter((o) => o.status !== 200)).toEqual([]);
    expectBinomial('reviews v2 of 2000 at the 90/10 canary (--netns)', out.filter((o) => reviewsVersion(o) === 'v2').length, out.length, 0.1);
    const pinned = await runLoad(nsPage, 100, 6, { 'x-canary': 'always' });
    expect(pinned.filter((o) => !fullSuccess(o))).toEqual([]);
    expect(share(pinned, 'v2')).toBe(1);
  });

  test('STRICT: plaintext to the app port of a replica is captured by iptables and refused by its sidecar', async () => {
    const ratings = ns!.replicas.find((r) => r.plan.service === 'ratings')!;
    const r = await get(`http://${ratings.address}:9080/ratings/1`, {}, true);
    expect(r.status).toBe(0);
  });

  test('stop removes every namespace, link and hosts file it made', async () => {
    const names = ns!.replicas.map((r) => r.address);
    await ns!.stop();
    ns = undefined;
    const left = execFileSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' });
    for (const a of names) expect(left).not.toContain(a);
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toMatch(/weft-[0-9a-f]{4}[bhn]/);
  });
});
