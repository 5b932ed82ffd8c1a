/**
 * Last good, never nothing, end to end (issue #12 item 2): a real `weft up` mesh (control plane
 * with the local source, CA, sidecars over mTLS, ingress) and live edits of `.weft/dist` that the
 * control plane rejects. Traffic and authorization stay exactly as they were; a policy that was
 * never accepted denies. Each edit is known to be judged (the control plane's /status lists it)
 * before traffic is checked.
 */
import { readdir, readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { startLocalMesh, type LocalMesh } from '../../cli/up/mesh';
import { writeAtomic } from '../../cli/up/synth';
import type { Rejection } from '../../control-plane/last-good';
import { closeLoadAgent, get, type Outcome } from './support/load';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
let mesh: LocalMesh | undefined;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'weft-e2e-last-good-'));
  mesh = await startLocalMesh({
    app: join(__dirname, 'fixtures', 'last-good-e2e.ts#lastGoodE2e'),
    projectDir: ROOT,
    stateDir,
    exposes: ['reviews', 'details'],
    onProgress: (m) => process.stderr.write(`[weft up] ${m}\n`),
    readyTimeoutMs: 90_000,
  });
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  closeLoadAgent();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

/** Rewrites the document `kind/name` in dist/ with `edit` (atomically, as an editor or synth would). */
async function editResource(kind: string, name: string, edit: (spec: Record<string, any>) => void): Promise<void> {
  for (const f of (await readdir(mesh!.distDir)).filter((x) => /\.ya?ml$/.test(x) && !x.startsWith('.')).sort()) {
    const file = join(mesh!.distDir, f);
    const docs = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as Record<string, any> | null).filter((d) => d !== null);
    const hit = docs.find((d) => d!.kind === kind && d!.metadata?.name === name);
    if (!hit) continue;
    edit(hit.spec);
    await writeAtomic(file, docs.map((d) => stringify(d)).join('---\n'));
    return;
  }
  throw new Error(`no ${kind} ${name} in ${mesh!.distDir}`);
}

/** The control plane's rejections once `pred` holds (bounded polling of /status). */
async function rejectedUntil(pred: (r: readonly Rejection[]) => boolean): Promise<readonly Rejection[]> {
  let last: readonly Rejection[] = [];
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`http://127.0.0.1:${mesh!.controlPlane.statusPort}/status`);
    last = ((await res.json()) as { rejected: Rejection[] }).rejected;
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`rejections never matched; last: ${JSON.stringify(last)}`);
}

/** `n` sequential requests. */
async function requests(url: string, n: number, headers: Record<string, string> = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) out.push(await get(url, headers));
  return out;
}
/** The versions that answered (`version` of the reviews app's body; `status <n>` for anything else). */
const versions = (out: readonly Outcome[]) => [...new Set(out.map((o) => {
  try {
    return (JSON.parse(o.body) as { version?: string }).version ?? `status ${o.status}`;
  } catch {
    return `status ${o.status}`;
  }
}))].sort();

test('before any edit: 100 % v1, x-canary → v2, /admin denied, details open', async () => {
  const reviews = `${mesh!.ingressUrl('reviews')}/reviews/1`;
  expect(versions(await requests(reviews, 20))).toEqual(['v1']);
  expect(versions(await requests(reviews, 20, { 'x-canary': 'always' }))).toEqual(['v2']);
  expect((await get(`${mesh!.ingressUrl('reviews')}/admin`)).status).toBe(403);
  expect((await get(`${mesh!.ingressUrl('details')}/details/1`)).status).toBe(200);
});

test('CanaryRoute edited to 60/50: rejected, the split and the header match stay', async () => {
  await editResource('CanaryRoute', 'reviews-canary', (spec) => {
    const split = spec.routes.find((r: { name?: string }) => r.name === 'split');
    split.backends = [{ version: 'v1', weight: 60 }, { version: 'v2', weight: 50 }];
  });
  const rejected = await rejectedUntil((r) => r.some((x) => x.kind === 'CanaryRoute'));
  expect(rejected.find((x) => x.kind === 'CanaryRoute')).toMatchObject({ name: 'reviews-canary', code: 'WEFT_ERR_MODEL_INVALID_WEIGHTS', inForce: 'last-accepted' });
  const reviews = `${mesh!.ingressUrl('reviews')}/reviews/1`;
  const plain = await requests(reviews, 40);
  expect(plain.filter((o) => o.status !== 200)).toEqual([]);
  expect(versions(plain)).toEqual(['v1']);
  expect(versions(await requests(reviews, 40, { 'x-canary': 'always' }))).toEqual(['v2']);
});

test('MtlsPolicy edited to action DENYX: rejected, /admin stays 403', async () => {
  await editResource('MtlsPolicy', 'reviews-admin', (spec) => { spec.rules[0].action = 'DENYX'; });
  const rejected = await rejectedUntil((r) => r.some((x) => x.kind === 'MtlsPolicy'));
  expect(rejected.find((x) => x.kind === 'MtlsPolicy')).toMatchObject({ name: 'reviews-admin', code: 'WEFT_ERR_INVALID_CONFIG', inForce: 'last-accepted' });
  for (const o of await requests(`${mesh!.ingressUrl('reviews')}/admin`, 10)) expect(o.status).toBe(403);
  expect((await get(`${mesh!.ingressUrl('reviews')}/reviews/1`)).status).toBe(200);
});

test('a new ALLOW policy with a bad field (never accepted) denies its service', async () => {
  const policy = { apiVersion: 'weft.dev/v1alpha1', kind: 'MtlsPolicy', metadata: { name: 'details-callers', namespace: 'shop' }, spec: { scope: { service: 'details' }, rules: [{ action: 'ALLOW', from: [{ namespaces: ['shop'], serviceAcount: ['productpage'] }] }] } };
  await writeAtomic(join(mesh!.distDir, 'details-policy.yaml'), stringify(policy));
  const rejected = await rejectedUntil((r) => r.some((x) => x.name === 'details-callers'));
  expect(rejected.find((x) => x.name === 'details-callers')).toMatchObject({ code: 'WEFT_ERR_INVALID_CONFIG', inForce: 'deny-all' });
  // the sidecar gets the placeholder through a normal push: bounded wait for the first 403, then every answer is 403
  let first: Outcome | undefined;
  for (let i = 0; i < 200 && first?.status !== 403; i++) first = await get(`${mesh!.ingressUrl('details')}/details/1`);
  expect(first?.status).toBe(403);
  expect(first?.weftError).toMatch(/weft-rejected/);
  for (const o of await requests(`${mesh!.ingressUrl('details')}/details/1`, 10)) expect(o.status).toBe(403);
});

test('the control plane restarted while both edits are rejected: the split, the header match, the 403s stay', async () => {
  await mesh!.controlPlane.restart();
  // the new process read the versions in force back from its status file; wait until the ingress
  // sidecar is connected to it and has ACKed every type it was sent, so what it serves is the new config
  const status = async () => (await (await fetch(`http://127.0.0.1:${mesh!.controlPlane.statusPort}/status`)).json()) as {
    rejected: Rejection[]; clients: { node: { id: string }; types: Record<string, { sentVersion?: string; ackedVersion?: string; pending: boolean }> }[];
  };
  let doc = await status();
  const synced = () => {
    const types = Object.values(doc.clients.find((c) => c.node.id === 'weft-ingress-0')?.types ?? {});
    return types.length >= 4 && types.every((t) => !t.pending && t.sentVersion !== undefined && t.ackedVersion === t.sentVersion);
  };
  for (let i = 0; i < 300 && !synced(); i++) {
    await new Promise((r) => setTimeout(r, 50));
    doc = await status();
  }
  expect(synced()).toBe(true);
  expect(doc.rejected.map((r) => [r.name, r.inForce]).sort()).toEqual([['details-callers', 'deny-all'], ['reviews-admin', 'last-accepted'], ['reviews-canary', 'last-accepted']]);
  const reviews = `${mesh!.ingressUrl('reviews')}/reviews/1`;
  expect(versions(await requests(reviews, 40))).toEqual(['v1']);
  expect(versions(await requests(reviews, 20, { 'x-canary': 'always' }))).toEqual(['v2']);
  expect((await get(`${mesh!.ingressUrl('reviews')}/admin`)).status).toBe(403);
  expect((await get(`${mesh!.ingressUrl('details')}/details/1`)).status).toBe(403);
});
