/**
 * The sidecar (runProxy) dials xDS over TLS because its bootstrap has a trust anchor: with the
 * control plane's root it is served; with another root it refuses the server (coded, visible in
 * /config_dump), accepts no config and stays not ready.
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

async function sidecar(id: string, anchorPem: string): Promise<RunningProxy> {
  const ca = await makeCa();
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

const dump = async (p: RunningProxy) => JSON.parse((await get(p.ports.admin, { path: '/config_dump' })).body) as { xds: { tls: boolean; connected: boolean; lastStreamError?: { code: string } } };

test('with the control plane\'s root as anchor the sidecar is served over TLS and becomes ready', async () => {
  fs.mkdirSync(path.join(root, 'good'));
  const p = await sidecar('good', fs.readFileSync(cp.ca!.trustAnchorFile!, 'utf8'));
  await until(async () => (await get(p.ports.admin, { path: '/ready' })).status === 200, 'ready');
  expect((await dump(p)).xds).toMatchObject({ tls: true, connected: true });
  expect(cp.controlPlane.ads.connectedNodes().map((n) => n.id)).toContain('good');
});

test('with another root the sidecar refuses the control plane: WEFT_ERR_XDS_UNTRUSTED, no config, not ready', async () => {
  fs.mkdirSync(path.join(root, 'bad'));
  const p = await sidecar('bad', (await makeCa('not the mesh root')).certPem);
  await until(async () => (await dump(p)).xds.lastStreamError?.code === 'WEFT_ERR_XDS_UNTRUSTED', 'coded refusal in /config_dump');
  expect(p.cell.get().listeners.size).toBe(0);
  const ready = await get(p.ports.admin, { path: '/ready' });
  expect(ready.status).toBe(503);
  expect(ready.body).toContain('no config yet');
  expect(cp.controlPlane.ads.connectedNodes().map((n) => n.id)).not.toContain('bad');
});
