/**
 * Several HTTP service ports share the sidecar's inbound port: the caller's sidecar names the service
 * port (`weft-port`), the callee picks the filter chain and the authz port from it (docs/security.md).
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
let apps: http.Server[] = [];
const proxies: RunningProxy[] = [];

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  await cp?.stop();
  for (const a of apps) await closeServer(a);
});

const idDir = (root: string, ca: Awaited<ReturnType<typeof makeCa>>, sa: string) => staticIdentityDir(root, ca, TD, sa);

test('several HTTP service ports behind one inbound port: weft-port picks the chain (and app), authz sees the service port', async () => {
  const seen: string[] = [];
  const mk = (tag: string) => http.createServer((req, res) => {
    seen.push(`${tag} ${req.url} weft-port=${req.headers['weft-port'] ?? '-'}`);
    res.end(`${tag} saw ${req.url}`);
  });
  apps = [mk('main'), mk('admin')];
  const [mainPort, adminPort] = [await listen(apps[0]), await listen(apps[1])];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-svcport-'));
  fs.mkdirSync(path.join(root, 'dist'));
  fs.writeFileSync(path.join(root, 'dist', 'mesh.yaml'), `${strictMeshConfigYaml(TD)}---
apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata: { name: backend, namespace: default }
spec:
  serviceAccount: backend
  ports:
    - { name: http, port: 8080, targetPort: 18080, protocol: http }
    - { name: admin, port: 9090, targetPort: 19090, protocol: http }
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
---
apiVersion: weft.dev/v1alpha1
kind: MtlsPolicy
metadata: { name: admin-secret, namespace: default }
spec:
  scope: { service: backend }
  rules:
    - { name: no-secret, action: DENY, from: [{ services: [{ name: web }] }], to: [{ ports: [9090], paths: [/secret] }] }
`);
  cp = await runControlPlane(optionsFromFlags({ source: 'local', dist: path.join(root, 'dist'), port: '0', statusPort: '0', stateDir: path.join(root, 'state'), meshConfig: 'mesh' }), () => undefined);
  const xds = `127.0.0.1:${cp.controlPlane.port}`;
  const ca = await makeCa();
  const boot = (svc: string, app: Record<string, number>, dir: string): Bootstrap => ({
    node: { id: `${svc}-1`, service: svc, namespace: 'default', version: 'v1', serviceAccount: svc },
    controlPlane: { xds },
    ports: { inbound: 0, outbound: 0, admin: 0, app },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: TD, required: true, staticDir: dir },
    drainTimeout: '1s',
  });
  proxies.push(await runProxy(boot('backend', { http: mainPort, admin: adminPort }, await idDir(root, ca, 'backend')), { log: () => undefined }));
  const web = await runProxy(boot('web', { http: 1 }, await idDir(root, ca, 'web')), { log: () => undefined });
  proxies.push(web);
  await until(async () => (await get(web.ports.outbound, { path: '/x', headers: { host: 'backend:8080' } })).status === 200, 'web → backend');

  const call = (host: string, p: string, headers: Record<string, string> = {}) => get(web.ports.outbound, { path: p, headers: { host, ...headers } });
  expect((await call('backend:8080', '/a')).body).toBe('main saw /a');
  // the second port reaches its own app, even when the app tries to forge weft-port
  expect((await call('backend:9090', '/b', { 'weft-port': '8080' })).body).toBe('admin saw /b');
  // the policy's port is the service port 9090 (not a target port): denied there, allowed on 8080
  const denied = await call('backend:9090', '/secret');
  expect(denied.status).toBe(403);
  expect((await call('backend:8080', '/secret')).body).toBe('main saw /secret');
  // the header is stripped before the app
  expect(seen.filter((l) => !l.includes('weft-port=-'))).toEqual([]);
  expect(seen).toContain('admin /b weft-port=-');
  expect(seen.some((l) => l.startsWith('admin /secret'))).toBe(false);
}, 60_000);
