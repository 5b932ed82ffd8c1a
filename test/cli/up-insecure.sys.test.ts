/**
 * `weft up --ca-insecure` (tests only) turns both the CA and xDS to plaintext: the control-plane
 * child runs with --xds-insecure, the bootstraps carry no trust anchor, and the mesh still serves.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMesh, type LocalMesh } from '../../cli/up/mesh';

jest.setTimeout(600_000); // generous: only stops a hung run on a busy machine
const ROOT = join(__dirname, '..', '..');
let stateDir: string;
let mesh: LocalMesh | undefined;

afterAll(async () => {
  await mesh?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

test('--ca-insecure: plaintext CA and xDS, no anchor, requests still flow through the ingress', async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'weft-up-insecure-'));
  mesh = await startLocalMesh({ projectDir: ROOT, stateDir, exposes: ['productpage'], caInsecure: true, readyTimeoutMs: 300_000 });
  expect(JSON.parse(readFileSync(join(stateDir, 'control-plane.json'), 'utf8'))).toMatchObject({ xdsInsecure: true });
  const boot = JSON.parse(readFileSync(join(stateDir, 'proxies', 'productpage-v1-0', 'bootstrap.json'), 'utf8')) as { identity: Record<string, unknown>; controlPlane: Record<string, unknown> };
  expect(boot.identity.caTrustAnchorFile).toBeUndefined();
  expect(boot.controlPlane.xdsIdentity).toBeUndefined();
  const res = await fetch(`${mesh.ingressUrl('productpage')}/productpage?id=1`);
  expect(res.status).toBe(200);
  const dump = await (await fetch(`${mesh.replicas.find((r) => r.plan.id === 'productpage-v1-0')!.adminUrl}/config_dump`)).json() as { xds: Record<string, unknown> };
  expect(dump.xds).toMatchObject({ tls: false, connected: true });
});
