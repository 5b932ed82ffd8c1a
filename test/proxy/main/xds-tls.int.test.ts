/**
 * The sidecar (runProxy) dials xDS over TLS because its bootstrap has a trust anchor: with the
 * control plane's root and a workload certificate the control plane trusts it is served; with
 * another root it refuses the server; with a certificate the control plane does not trust it is
 * refused (each coded, visible in /config_dump, no config, not ready); with a CA that issues nothing
 * yet it waits for its certificate (shown in /config_dump) and shuts down cleanly while waiting.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { optionsFromFlags, runControlPlane, type RunningControlPlane } from '../../../control-plane/main';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { makeCa } from '../../support/certs';
import { staticIdentityDir, strictMeshConfigYaml, until } from '../../support/waiting';
import { get } from '../http/util';

const TD = 'xds-tls.local';
let cp: RunningControlPlane;
let root: string;
const proxies: RunningProxy[] = [];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proxy-xds-tls-'));
  fs.mkdirSync(path.join(root, 'dist'));
  fs.writeFileSync(path.join(root, 'dist', 'mesh.yaml'), `${strictMeshConfigYaml(TD)}---
apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: web, namespace: default }
spec:
  serviceAccount: web
  ports: [{ name: http, port: 8080, protocol: http }]
  versions: [{ name: v1, replicas: 1 }]
  interception: explicit
`);
  cp = await runControlPlane(optionsFromFlags({ source: 'local', dist: path.join(root, 'dist'), port: '0', statusPort: '0', caPort: '0', stateDir: path.join(root, 'state'), meshConfig: 'mesh' }), () => undefined);
});

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  await cp?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A sidecar with a static workload certificate from a test CA (trusted by the control plane when `trusted`). */
async function sidecar(id: string, anchorPem: string | (() => string), trusted = true): Promise<RunningProxy> {
  const ca = await makeCa(`test root of ${id}`);
  // the control plane verifies client certificates against its bundle: add the test root to it
  if (trusted) cp.ca!.ca.addTrustedRoot(ca.certPem);
  if (typeof anchorPem === 'function') anchorPem = anchorPem();
  const b: Bootstrap = {
    node: { id, service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    controlPlane: { xds: `127.0.0.1:${cp.xdsPort}` },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: TD, required: false, staticDir: await staticIdentityDir(path.join(root, id), ca, TD, 'web'), caTrustAnchorPem: anchorPem },
    drainTimeout: '1s',
  };
  const p = await runProxy(b, { log: () => undefined });
  proxies.push(p);
  return p;
}

const dump = async (p: RunningProxy) => JSON.parse((await get(p.ports.admin, { path: '/config_dump' })).body) as { xds: { tls: boolean; connected: boolean; waitingForCertificate?: boolean; lastStreamError?: { code: string } } };
const anchor = () => fs.readFileSync(cp.ca!.trustAnchorFile!, 'utf8');

test('with the control plane\'s root as anchor the sidecar is served over TLS and becomes ready', async () => {
  fs.mkdirSync(path.join(root, 'good'));
  const p = await sidecar('good', anchor);
  await until(async () => (await get(p.ports.admin, { path: '/ready' })).status === 200, 'ready');
  expect((await dump(p)).xds).toMatchObject({ tls: true, connected: true });
  expect(cp.controlPlane.ads.connectedNodes().map((n) => n.id)).toContain('good');
});

test('with another root the sidecar refuses the control plane: WEFT_ERR_XDS_UNTRUSTED, no config, not ready', async () => {
  fs.mkdirSync(path.join(root, 'bad'));
  const p = await sidecar('bad', (await makeCa('not the mesh root')).certPem, false);
  await until(async () => (await dump(p)).xds.lastStreamError?.code === 'WEFT_ERR_XDS_UNTRUSTED', 'coded refusal in /config_dump');
  expect(p.cell.get().listeners.size).toBe(0);
  const ready = await get(p.ports.admin, { path: '/ready' });
  expect(ready.status).toBe(503);
  expect(ready.body).toContain('no config yet');
  expect(cp.controlPlane.ads.connectedNodes().map((n) => n.id)).not.toContain('bad');
});

test('a workload certificate the control plane does not trust: refused WEFT_ERR_XDS_UNAUTHENTICATED, no config, not ready', async () => {
  fs.mkdirSync(path.join(root, 'stranger'));
  const p = await sidecar('stranger', anchor, false);
  await until(async () => (await dump(p)).xds.lastStreamError?.code === 'WEFT_ERR_XDS_UNAUTHENTICATED', 'coded refusal in /config_dump');
  expect(p.cell.get().listeners.size).toBe(0);
  expect((await get(p.ports.admin, { path: '/ready' })).status).toBe(503);
  expect(cp.controlPlane.ads.connectedNodes().map((n) => n.id)).not.toContain('stranger');
});

test('with an identity source that has no certificate yet the sidecar waits (shown in /config_dump), dials nothing, and stops cleanly', async () => {
  const dir = path.join(root, 'waiting');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'token'), 'not-a-token-the-ca-accepts');
  const b: Bootstrap = {
    node: { id: 'waiting', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    controlPlane: { xds: `127.0.0.1:${cp.xdsPort}`, ca: `127.0.0.1:${cp.ca!.server.port}` },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: TD, required: false, tokenPath: path.join(dir, 'token'), caTrustAnchorFile: cp.ca!.trustAnchorFile },
    drainTimeout: '1s',
  };
  const p = await runProxy(b, { log: () => undefined });
  try {
    expect((await dump(p)).xds).toMatchObject({ tls: true, connected: false, waitingForCertificate: true });
    expect((await dump(p)).xds.lastStreamError).toBeUndefined();
    expect(cp.controlPlane.ads.connectedNodes().map((n) => n.id)).not.toContain('waiting');
  } finally {
    await p.shutdown();
  }
});
