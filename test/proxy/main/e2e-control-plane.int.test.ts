/**
 * End to end with weft's real control plane (local source, in-process): two sidecars get their
 * config over ADS, the backend registers itself, and web → backend flows over mTLS. Then the
 * control plane stops and traffic keeps flowing on the last config.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { optionsFromFlags, runControlPlane, type RunningControlPlane } from '../../../control-plane/main';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { makeCa } from '../../support/certs';
import { staticIdentityDir, strictMeshConfigYaml, until } from '../../support/waiting';
import { closeServer, get, listen } from '../http/util';

const TD = 'e2e.local';
let cp: RunningControlPlane | undefined;
let app: http.Server;
const proxies: RunningProxy[] = [];

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  await cp?.stop();
  await closeServer(app);
});

const idDir = (root: string, ca: Awaited<ReturnType<typeof makeCa>>, sa: string) => staticIdentityDir(root, ca, TD, sa);

test('web → backend over mTLS with config from the real control plane; survives control-plane loss', async () => {
  app = http.createServer((req, res) => res.end(`backend saw ${req.url}`));
  const appPort = await listen(app);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-e2e-'));
  fs.mkdirSync(path.join(root, 'dist'));
  fs.writeFileSync(path.join(root, 'dist', 'mesh.yaml'), `${strictMeshConfigYaml(TD)}---
apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: backend, namespace: default }
spec:
  serviceAccount: backend
  ports: [{ name: http, port: 8080, targetPort: ${appPort}, protocol: http }]
  versions: [{ name: v1, replicas: 1 }]
  interception: explicit
---
apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: web, namespace: default }
spec:
  serviceAccount: web
  ports: [{ name: http, port: 8080, protocol: http }]
  versions: [{ name: v1, replicas: 1 }]
  interception: explicit
  calls: [{ name: backend }]
`);
  cp = await runControlPlane(optionsFromFlags({ source: 'local', dist: path.join(root, 'dist'), port: '0', statusPort: '0', stateDir: path.join(root, 'state'), meshConfig: 'mesh' }), () => undefined);
  const xds = `127.0.0.1:${cp.controlPlane.port}`;
  const ca = await makeCa();
  const boot = (svc: string, appP: number, dir: string): Bootstrap => ({
    node: { id: `${svc}-1`, service: svc, namespace: 'default', version: 'v1', serviceAccount: svc },
    controlPlane: { xds },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: appP } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: TD, required: true, staticDir: dir },
    drainTimeout: '1s',
  });
  const backend = await runProxy(boot('backend', appPort, await idDir(root, ca, 'backend')), { log: () => undefined });
  proxies.push(backend);
  const web = await runProxy(boot('web', 1, await idDir(root, ca, 'web')), { log: () => undefined });
  proxies.push(web);

  // ready once the first config arrived over ADS
  await until(async () => (await get(web.ports.admin, { path: '/ready' })).status === 200, 'web ready');
  // the backend's self-registration reaches web's EDS; then requests flow over mTLS
  await until(async () => (await get(web.ports.outbound, { path: '/x', headers: { host: 'backend' } })).status === 200, 'web → backend');
  const r = await get(web.ports.outbound, { path: '/hello', headers: { host: 'backend:8080' } });
  expect(r.status).toBe(200);
  expect(r.body).toBe('backend saw /hello');
  const dump = JSON.parse((await get(web.ports.admin, { path: '/config_dump' })).body);
  expect(dump.xds.connected).toBe(true);
  expect(dump.version).toMatch(/^lds=.+,rds=.+,cds=.+,eds=.+$/);

  // WHEN the control plane goes away
  await cp.stop();
  cp = undefined;
  await until(async () => JSON.parse((await get(web.ports.admin, { path: '/config_dump' })).body).xds.connected === false, 'disconnect');
  // THEN the last config keeps serving and the proxy stays ready
  expect((await get(web.ports.outbound, { path: '/after', headers: { host: 'backend' } })).body).toBe('backend saw /after');
  expect((await get(web.ports.admin, { path: '/ready' })).status).toBe(200);
}, 60_000);
