/**
 * What `weft up` and `weft stat` print about rejected custom resources, read from a real running
 * control plane (local source on a temp dir): a console line once per new rejection, a line when it
 * clears, and the lines under the stat table.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Rejection } from '../../control-plane/last-good';
import { ControlPlane, startControlPlane } from '../../control-plane/server';
import { LocalSource } from '../../control-plane/sources/local';
import { fetchRejections, renderRejections, watchRejections } from '../../cli/up/rejections';

const SERVICE = `apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: web, namespace: shop }
spec:
  serviceAccount: web
  interception: explicit
  ports: [{ name: http, port: 8080, protocol: http }]
  versions: [{ name: v1, replicas: 1 }, { name: v2, replicas: 1 }]
`;
const policy = (action: string) => `apiVersion: weft.dev/v1alpha1
kind: MtlsPolicy
metadata: { name: web-admin, namespace: shop }
spec:
  scope: { service: web }
  rules: [{ action: ${action}, to: [{ paths: [/admin] }] }]
`;

let dir: string;
let cp: ControlPlane;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-up-rejections-'));
  await writeFile(join(dir, 'mesh.yaml'), SERVICE);
  await writeFile(join(dir, 'policy.yaml'), policy('DENY'));
  cp = await startControlPlane({ source: new LocalSource({ dir, debounceMs: 20, statusFile: join(dir, 'state', 'status.json') }), port: 0, statusPort: 0, metricsRegistry: new Registry() });
  url = `http://127.0.0.1:${cp.statusPort}`;
});

afterAll(async () => {
  await cp?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Bounded wait for `cond`. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error('condition not reached');
}

test('a new rejection is reported once, its clearing too; the stat lines name code and what is in force', async () => {
  expect(await fetchRejections(url)).toEqual([]);
  expect(renderRejections([])).toBe('');
  const added: Rejection[] = [];
  const cleared: string[] = [];
  let lists = 0;
  const stop = watchRejections(url, { onNew: (r) => added.push(r), onCleared: (k) => cleared.push(k), onList: () => lists++, intervalMs: 20 });
  try {
    await writeFile(join(dir, 'policy.yaml'), policy('DENYX'));
    await until(() => added.length === 1);
    const before = lists;
    await until(() => lists >= before + 3); // more polls of the same rejection: not reported again
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ kind: 'MtlsPolicy', namespace: 'shop', name: 'web-admin', code: 'WEFT_ERR_INVALID_CONFIG', inForce: 'last-accepted' });
    const text = renderRejections((await fetchRejections(url))!);
    expect(text).toMatch(/^\nREJECTED \(1\): .*\n {2}WEFT_ERR_INVALID_CONFIG: MtlsPolicy shop\/web-admin rejected \(InvalidSpec\): .*DENYX.*the last accepted version stays in force$/);
    await writeFile(join(dir, 'policy.yaml'), policy('DENY'));
    await until(() => cleared.length === 1);
    expect(cleared).toEqual(['MtlsPolicy shop/web-admin']);
  } finally {
    stop();
  }
});

test('an unreachable control plane yields undefined (the table is still printed), not an error', async () => {
  expect(await fetchRejections('http://127.0.0.1:1', 500)).toBeUndefined();
});
