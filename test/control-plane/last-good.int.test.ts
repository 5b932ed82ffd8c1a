/**
 * Last good, never nothing (issue #12 item 2): the real local source on a temp directory feeding a
 * real control plane. A rejected live edit keeps the last accepted CanaryRoute / MtlsPolicy in the
 * served model; a policy never accepted denies; every rejection is visible in the verdicts.
 */
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { authorize } from '../../api/authz';
import type { MeshModel } from '../../api/model';
import type { ResourceStatus } from '../../api/status';
import { ControlPlane, startControlPlane } from '../../control-plane/server';
import { LocalSource } from '../../control-plane/sources/local';

const TD = 'shop.local';
const id = (sa: string, ns = 'shop') => `spiffe://${TD}/ns/${ns}/sa/${sa}`;
const doc = (kind: string, name: string, spec: unknown, namespace: string | undefined = 'shop') =>
  stringify({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec });
const MESH = doc('MeshConfig', 'mesh', {
  trustDomain: TD, defaultMtlsMode: 'STRICT', defaultInboundPolicy: 'allow', proxyImage: 'p', controlPlaneImage: 'c',
  controlPlane: { namespace: 'weft-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
}, undefined);
const service = (name: string) => doc('MeshService', name, {
  serviceAccount: name, interception: 'explicit', ports: [{ name: 'http', port: 9080, protocol: 'http' }],
  versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }],
});
const canary = (v1: number, v2: number) => doc('CanaryRoute', 'reviews-canary', {
  service: { name: 'reviews' },
  routes: [
    { name: 'canary-header', match: [{ headers: [{ name: 'x-canary', exact: 'always' }] }], backends: [{ version: 'v2', weight: 100 }] },
    { name: 'split', backends: [{ version: 'v1', weight: v1 }, { version: 'v2', weight: v2 }] },
  ],
});
const adminDeny = (action: string, extra: Record<string, unknown> = {}) => doc('MtlsPolicy', 'reviews-admin', {
  scope: { service: 'reviews' }, rules: [{ action, to: [{ paths: ['/admin'] }], ...extra }],
});

let dir: string;
let cp: ControlPlane | undefined;
let warnings: string[];

const ask = (m: MeshModel, service: string, path: string, principal = id('productpage')) =>
  authorize(m.policies, { principal, destination: { service, namespace: 'shop' }, port: 9080, path, method: 'GET' }, { defaultInboundPolicy: m.mesh.defaultInboundPolicy });
const reviews = (m: MeshModel) => m.services.find((s) => s.name === 'reviews')!;
const find = (st: readonly ResourceStatus[], kind: string, name: string) => st.find((s) => s.kind === kind && s.name === name);

/** Waits (bounded) until the control plane's verdicts satisfy `pred`: the edit was read and judged. */
async function verdict(what: string, pred: (st: readonly ResourceStatus[]) => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (pred(cp!.statuses())) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no verdict with ${what}; have ${JSON.stringify(cp!.statuses())}`);
}

/** The local source's status file once it satisfies `pred` (it is written after the build, asynchronously). */
async function statusFile(pred: (st: readonly ResourceStatus[]) => boolean): Promise<readonly ResourceStatus[]> {
  let last: readonly ResourceStatus[] = [];
  for (let i = 0; i < 400; i++) {
    last = (JSON.parse(await readFile(join(dir, 'state', 'status.json'), 'utf8').catch(() => '{"resources":[]}')) as { resources: ResourceStatus[] }).resources;
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  return last;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-last-good-'));
  warnings = [];
  await writeFile(join(dir, 'mesh.yaml'), [MESH, service('reviews'), service('details'), service('productpage')].join('---\n'));
  await writeFile(join(dir, 'canary.yaml'), canary(100, 0));
  await writeFile(join(dir, 'policy.yaml'), adminDeny('DENY'));
  const source = new LocalSource({ dir, debounceMs: 20, statusFile: join(dir, 'state', 'status.json') });
  cp = await startControlPlane({ source, port: 0, statusPort: 0, metricsRegistry: new Registry(), log: (level, msg) => { if (level === 'warn') warnings.push(msg); } });
  await verdict('everything accepted', (st) => st.length === 6 && st.every((s) => s.accepted));
});

afterEach(async () => {
  await cp?.stop();
  cp = undefined;
  await rm(dir, { recursive: true, force: true });
});

test('CanaryRoute: a live edit with weights 60/50 is rejected and the last accepted split and header match stay', async () => {
  const before = reviews(cp!.model()!).routes;
  expect(before.map((r) => r.name)).toEqual(['reviews-canary.canary-header', 'reviews-canary.split', 'default']);

  await writeFile(join(dir, 'canary.yaml'), canary(60, 50));
  await verdict('the route rejected', (st) => find(st, 'CanaryRoute', 'reviews-canary')?.accepted === false);

  const st = find(cp!.statuses(), 'CanaryRoute', 'reviews-canary')!;
  expect(st.code).toBe('WEFT_ERR_MODEL_INVALID_WEIGHTS');
  expect(st.inForce).toBe('last-accepted');
  expect(reviews(cp!.model()!).routes).toEqual(before);
  expect(warnings.some((w) => w.includes('WEFT_ERR_MODEL_INVALID_WEIGHTS') && w.includes('CanaryRoute shop/reviews-canary'))).toBe(true);
  expect(find(await statusFile((st) => find(st, 'CanaryRoute', 'reviews-canary')?.accepted === false), 'CanaryRoute', 'reviews-canary')).toMatchObject({ accepted: false, code: 'WEFT_ERR_MODEL_INVALID_WEIGHTS', inForce: 'last-accepted' });

  // a valid edit is taken again, and deleting the route removes it (deletion is not a rejection)
  await writeFile(join(dir, 'canary.yaml'), canary(50, 50));
  await verdict('the route accepted again', (st) => find(st, 'CanaryRoute', 'reviews-canary')?.accepted === true);
  expect(reviews(cp!.model()!).routes.find((r) => r.name === 'reviews-canary.split')!.backends.map((b) => b.weight)).toEqual([50, 50]);
  await unlink(join(dir, 'canary.yaml'));
  await verdict('the route gone', (st) => find(st, 'CanaryRoute', 'reviews-canary') === undefined);
  expect(reviews(cp!.model()!).routes.map((r) => r.name)).toEqual(['default']);
});

test.each([
  ['action: DENYX', adminDeny('DENYX')],
  ['an unknown field', adminDeny('DENY', { paths: ['/admin'] })],
  ['a lowercase method', adminDeny('DENY', { to: [{ paths: ['/admin'], methods: ['get'] }] })],
])('MtlsPolicy: a live edit with %s is rejected and /admin stays denied', async (_what, bad) => {
  expect(ask(cp!.model()!, 'reviews', '/admin').allowed).toBe(false);
  await writeFile(join(dir, 'policy.yaml'), bad);
  await verdict('the policy rejected', (st) => find(st, 'MtlsPolicy', 'reviews-admin')?.accepted === false);
  expect(find(cp!.statuses(), 'MtlsPolicy', 'reviews-admin')).toMatchObject({ code: 'WEFT_ERR_INVALID_CONFIG', inForce: 'last-accepted' });
  expect(ask(cp!.model()!, 'reviews', '/admin')).toMatchObject({ allowed: false, reason: 'denied_by_policy' });
  expect(ask(cp!.model()!, 'reviews', '/reviews/1').allowed).toBe(true);
});

test('MtlsPolicy never accepted: an ALLOW list with a bad field denies everything on the service it names', async () => {
  expect(ask(cp!.model()!, 'details', '/details/1').allowed).toBe(true);
  await writeFile(join(dir, 'details-policy.yaml'), doc('MtlsPolicy', 'details-callers', {
    scope: { service: 'details' }, rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'productpage' }], bogus: true }] }],
  }));
  await verdict('the policy rejected', (st) => find(st, 'MtlsPolicy', 'details-callers')?.accepted === false);
  expect(find(cp!.statuses(), 'MtlsPolicy', 'details-callers')).toMatchObject({ code: 'WEFT_ERR_INVALID_CONFIG', inForce: 'deny-all' });
  expect(ask(cp!.model()!, 'details', '/details/1')).toMatchObject({ allowed: false, reason: 'denied_by_policy' });
  expect(ask(cp!.model()!, 'details', '/details/1', id('reviews')).allowed).toBe(false);
  // only the service it names: its neighbours are untouched
  expect(ask(cp!.model()!, 'reviews', '/reviews/1').allowed).toBe(true);
});

test('MtlsPolicy never accepted with an unreadable scope denies its whole namespace', async () => {
  await writeFile(join(dir, 'ns-policy.yaml'), doc('MtlsPolicy', 'odd', { scope: { service: 'Not_A_Label' }, rules: [{ action: 'ALLOW' }] }));
  await verdict('the policy rejected', (st) => find(st, 'MtlsPolicy', 'odd')?.accepted === false);
  expect(find(cp!.statuses(), 'MtlsPolicy', 'odd')).toMatchObject({ inForce: 'deny-all' });
  for (const svc of ['reviews', 'details', 'productpage']) expect(ask(cp!.model()!, svc, '/x').allowed).toBe(false);
});

test('CanaryRoute never accepted: left out, rejected loudly', async () => {
  await writeFile(join(dir, 'canary2.yaml'), doc('CanaryRoute', 'details-split', { service: { name: 'details' }, routes: [{ backends: [{ version: 'v1', weight: 60 }, { version: 'v2', weight: 50 }] }] }));
  await verdict('the route rejected', (st) => find(st, 'CanaryRoute', 'details-split')?.accepted === false);
  expect(find(cp!.statuses(), 'CanaryRoute', 'details-split')).toMatchObject({ code: 'WEFT_ERR_MODEL_INVALID_WEIGHTS', inForce: 'none' });
  expect(cp!.model()!.services.find((s) => s.name === 'details')!.routes.map((r) => r.name)).toEqual(['default']);
  expect(warnings.some((w) => w.includes('CanaryRoute shop/details-split'))).toBe(true);
});

test('visible from outside: /status lists the rejection with its code, /metrics counts it by kind', async () => {
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${cp!.statusPort}${path}`)).text();
  expect(JSON.parse(await get('/status')).rejected).toEqual([]);
  await writeFile(join(dir, 'canary.yaml'), canary(60, 50));
  await writeFile(join(dir, 'policy.yaml'), adminDeny('DENYX'));
  await verdict('both rejected', (st) => st.filter((s) => !s.accepted).length === 2);
  const status = JSON.parse(await get('/status')) as { rejected: unknown[] };
  expect(status.rejected).toEqual([
    expect.objectContaining({ kind: 'CanaryRoute', namespace: 'shop', name: 'reviews-canary', code: 'WEFT_ERR_MODEL_INVALID_WEIGHTS', inForce: 'last-accepted' }),
    expect.objectContaining({ kind: 'MtlsPolicy', namespace: 'shop', name: 'reviews-admin', code: 'WEFT_ERR_INVALID_CONFIG', inForce: 'last-accepted' }),
  ]);
  const metrics = await get('/metrics');
  expect(metrics).toMatch(/^weft_control_plane_rejected_resources\{kind="CanaryRoute"\} 1$/m);
  expect(metrics).toMatch(/^weft_control_plane_rejected_resources\{kind="MtlsPolicy"\} 1$/m);
  expect(metrics).toMatch(/^weft_control_plane_rejections_total\{kind="CanaryRoute",code="WEFT_ERR_MODEL_INVALID_WEIGHTS"\} 1$/m);
  // fixed: the gauge goes back to 0, the counter keeps its history
  await writeFile(join(dir, 'canary.yaml'), canary(100, 0));
  await verdict('the route accepted again', (st) => find(st, 'CanaryRoute', 'reviews-canary')?.accepted === true);
  const after = await get('/metrics');
  expect(after).toMatch(/^weft_control_plane_rejected_resources\{kind="CanaryRoute"\} 0$/m);
  expect(after).toMatch(/^weft_control_plane_rejections_total\{kind="CanaryRoute",code="WEFT_ERR_MODEL_INVALID_WEIGHTS"\} 1$/m);
});

test('a restarted control plane keeps serving the last accepted versions it wrote to the status file', async () => {
  const routes0 = reviews(cp!.model()!).routes;
  await writeFile(join(dir, 'canary.yaml'), canary(60, 50));
  await writeFile(join(dir, 'policy.yaml'), adminDeny('DENYX'));
  await verdict('both rejected', (st) => st.filter((s) => !s.accepted).length === 2);
  await statusFile((st) => st.filter((s) => s.inForce === 'last-accepted').length === 2);
  await cp!.stop();
  const source = new LocalSource({ dir, debounceMs: 20, statusFile: join(dir, 'state', 'status.json') });
  cp = await startControlPlane({ source, port: 0, metricsRegistry: new Registry() });
  await verdict('both rejected after the restart', (st) => st.filter((s) => !s.accepted).length === 2);
  expect(find(cp.statuses(), 'CanaryRoute', 'reviews-canary')).toMatchObject({ inForce: 'last-accepted' });
  expect(find(cp.statuses(), 'MtlsPolicy', 'reviews-admin')).toMatchObject({ inForce: 'last-accepted' });
  expect(reviews(cp.model()!).routes).toEqual(routes0);
  expect(ask(cp.model()!, 'reviews', '/admin').allowed).toBe(false);
  expect(ask(cp.model()!, 'reviews', '/reviews/1').allowed).toBe(true);
});
