/**
 * The `weft-ca-root` publisher through @kubernetes/client-node's real CoreV1Api (CommonJS build of
 * test/support/recorded-k8s) against a local HTTP server that stores ConfigMaps the way the API
 * server does (404 on a missing object, 409 on a duplicate create, resourceVersion on replace).
 */
import * as http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { CA_ROOT_CONFIGMAP, CaRootPublisher, meshedNamespaces, type ConfigMapApi } from '../../../control-plane/sources/ca-root-configmap';
import { loadK8sClient } from '../../support/recorded-k8s/client';
import { k8sStatus, sendJson } from '../../support/recorded-k8s/server';

interface Stored { metadata: { name: string; namespace: string; resourceVersion: string; labels?: Record<string, string> }; data?: Record<string, string> }

function apiServer() {
  const store = new Map<string, Stored>();
  const log: string[] = [];
  let rv = 100;
  let failNamespace: string | undefined;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/?]+))?/.exec(req.url ?? '');
      if (!m) return sendJson(res, 404, k8sStatus(404, 'NotFound', 'no such path'));
      const [, ns, name] = m;
      log.push(`${req.method} ${ns}${name ? `/${name}` : ''}`);
      if (ns === failNamespace) return sendJson(res, 500, k8sStatus(500, 'InternalError', 'etcd is unhappy'));
      const body = raw ? (JSON.parse(raw) as Stored) : undefined;
      if (req.method === 'GET' && name) {
        const s = store.get(`${ns}/${name}`);
        return s ? sendJson(res, 200, { apiVersion: 'v1', kind: 'ConfigMap', ...s }) : sendJson(res, 404, k8sStatus(404, 'NotFound', `configmaps "${name}" not found`));
      }
      if (req.method === 'POST' && !name && body) {
        const key = `${ns}/${body.metadata.name}`;
        if (store.has(key)) return sendJson(res, 409, k8sStatus(409, 'AlreadyExists', `configmaps "${body.metadata.name}" already exists`));
        const s = { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++rv) } };
        store.set(key, s);
        return sendJson(res, 201, { apiVersion: 'v1', kind: 'ConfigMap', ...s });
      }
      if (req.method === 'PUT' && name && body) {
        const cur = store.get(`${ns}/${name}`);
        if (!cur) return sendJson(res, 404, k8sStatus(404, 'NotFound', `configmaps "${name}" not found`));
        if (body.metadata.resourceVersion && body.metadata.resourceVersion !== cur.metadata.resourceVersion) return sendJson(res, 409, k8sStatus(409, 'Conflict', 'the object has been modified'));
        const s = { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++rv) } };
        store.set(`${ns}/${name}`, s);
        return sendJson(res, 200, { apiVersion: 'v1', kind: 'ConfigMap', ...s });
      }
      sendJson(res, 405, k8sStatus(405, 'MethodNotAllowed', `${req.method}`));
    });
  });
  return { server, store, log, failIn: (ns: string | undefined) => (failNamespace = ns) };
}

let api: ReturnType<typeof apiServer>;
let configMaps: ConfigMapApi;
beforeEach(async () => {
  api = apiServer();
  api.server.listen(0, '127.0.0.1');
  await once(api.server, 'listening');
  const k8s = loadK8sClient();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'weft-control-plane', token: 'sa-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'weft-control-plane' }],
    currentContext: 'fake',
  });
  configMaps = kc.makeApiClient(k8s.CoreV1Api) as unknown as ConfigMapApi;
}, 60_000);
afterEach(async () => {
  api.server.close();
  await once(api.server, 'close');
});

const ROOT_A = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const ROOT_B = '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n';

test('creates weft-ca-root in every meshed namespace, updates it when the bundle changes, writes nothing when nothing changed', async () => {
  let bundle = ROOT_A;
  let namespaces = ['shop', 'bookinfo'];
  const writes: string[] = [];
  const p = new CaRootPublisher({ api: configMaps, namespaces: () => namespaces, bundle: () => bundle, onWrite: (ns, a) => writes.push(`${a} ${ns}`) });
  await p.sync();
  expect(writes).toEqual(['created bookinfo', 'created shop']);
  expect(api.store.get('shop/weft-ca-root')).toMatchObject({ metadata: { name: CA_ROOT_CONFIGMAP.name, labels: { 'weft.dev/ca-root': 'true' } }, data: { 'root-cert.pem': ROOT_A } });

  await p.sync();
  expect(writes).toHaveLength(2); // unchanged: reads only

  bundle = ROOT_A + ROOT_B; // rotation step 1: both roots
  namespaces = ['shop', 'bookinfo', 'payments'];
  await p.sync();
  expect(writes.slice(2)).toEqual(['updated bookinfo', 'created payments', 'updated shop']);
  for (const ns of namespaces) expect(api.store.get(`${ns}/weft-ca-root`)?.data?.['root-cert.pem']).toBe(ROOT_A + ROOT_B);
  // the replace carried the resourceVersion it read (a concurrent edit would get a 409, not be overwritten)
  expect(api.log.filter((l) => l.startsWith('PUT'))).toEqual(['PUT bookinfo/weft-ca-root', 'PUT shop/weft-ca-root']);
});

test('a ConfigMap someone edited is put back; a failing namespace is reported and does not stop the others', async () => {
  const errors: string[] = [];
  const p = new CaRootPublisher({ api: configMaps, namespaces: () => ['a', 'b', 'c'], bundle: () => ROOT_A, onError: (e) => errors.push(e.code) });
  await p.sync();
  api.store.get('a/weft-ca-root')!.data = { 'root-cert.pem': 'tampered' };
  api.failIn('b');
  await p.sync();
  expect(errors).toEqual(['WEFT_ERR_CP_CA_ROOT_PUBLISH']);
  expect(api.store.get('a/weft-ca-root')?.data?.['root-cert.pem']).toBe(ROOT_A);
  expect(api.store.get('c/weft-ca-root')?.data?.['root-cert.pem']).toBe(ROOT_A);
});

test('meshedNamespaces: the namespaces of MeshServices only', () => {
  expect(meshedNamespaces([
    { kind: 'MeshService', metadata: { namespace: 'shop' } },
    { kind: 'MeshService', metadata: { namespace: 'shop' } },
    { kind: 'CanaryRoute', metadata: { namespace: 'other' } },
    { kind: 'MeshService', metadata: { namespace: 'bookinfo' } },
  ])).toEqual(['shop', 'bookinfo']);
});
