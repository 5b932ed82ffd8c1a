/**
 * The CA as the control plane starts it in Kubernetes (startCa, source kubernetes) through
 * client-node's real code against a local HTTP server answering like the API server (Secret,
 * TokenReview, ConfigMap): the root goes to `weft-ca-root` in each meshed namespace, and a proxy
 * holding only that ConfigMap's PEM verifies the CA over TLS and gets its certificate with its token.
 */
import * as http from 'node:http';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { RunningCa, startCa } from '../../../control-plane/main-ca';
import { CaClientIdentityProvider } from '../../../proxy/identity/ca-client';
import { loadK8sClient } from '../../support/recorded-k8s/client';
import { k8sStatus, sendJson } from '../../support/recorded-k8s/server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

/** Secrets, ConfigMaps (by namespace/name) and TokenReview verdicts, as the API server answers them. */
function apiServer() {
  const objects = new Map<string, Obj>();
  let rv = 1;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      const url = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && url === '/apis/authentication.k8s.io/v1/tokenreviews') {
        const ok = body.spec.token === 'projected-cart' && body.spec.audiences.includes('weft');
        return sendJson(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec: body.spec, status: ok ? { authenticated: true, audiences: ['weft'], user: { username: 'system:serviceaccount:shop:cart' } } : { authenticated: false, error: 'invalid bearer token' } });
      }
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/(secrets|configmaps)(?:\/([^/]+))?$/.exec(url);
      if (!m) return sendJson(res, 404, k8sStatus(404, 'NotFound'));
      const [, ns, kind, name] = m;
      const key = `${kind}/${ns}/${name ?? body?.metadata?.name}`;
      if (req.method === 'GET') return objects.has(key) ? sendJson(res, 200, objects.get(key)) : sendJson(res, 404, k8sStatus(404, 'NotFound'));
      if (req.method === 'POST') {
        if (objects.has(key)) return sendJson(res, 409, k8sStatus(409, 'AlreadyExists'));
        objects.set(key, { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++rv) } });
        return sendJson(res, 201, objects.get(key));
      }
      if (req.method === 'PUT' && objects.has(key)) {
        objects.set(key, { ...body, metadata: { ...body.metadata, namespace: ns, resourceVersion: String(++rv) } });
        return sendJson(res, 200, objects.get(key));
      }
      sendJson(res, 405, k8sStatus(405, 'MethodNotAllowed'));
    });
  });
  return { server, objects };
}

let api: ReturnType<typeof apiServer>;
let running: RunningCa | undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await running?.close();
  api.server.close();
});

test('Kubernetes: TLS CA named after its Service, root published to weft-ca-root in each meshed namespace, verified by the proxy', async () => {
  api = apiServer();
  api.server.listen(0, '127.0.0.1');
  await once(api.server, 'listening');
  const client = loadK8sClient();
  const config = new client.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'cp', token: 'control-plane-sa-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'cp' }],
    currentContext: 'fake',
  });
  let namespaces = ['shop'];
  const writes: string[] = [];
  running = await startCa({
    source: 'kubernetes', port: 0, host: '127.0.0.1', mesh: { trustDomain: 'cluster.local', certificateTtlMs: 3600_000 } as never, stateDir: '/nonexistent',
    secretNamespace: 'weft-system', secretName: 'weft-ca', kube: { client, config }, meshedNamespaces: () => namespaces, rootPublishMs: 60_000,
    log: (_l, msg) => { if (msg.startsWith('ConfigMap')) writes.push(msg); },
  });
  const r = running;
  await r.rootPublisher!.sync(); // joins the first pass, started with the CA
  expect(writes).toContain('ConfigMap shop/weft-ca-root created');
  expect(r.tls).toBe(true);
  expect(r.trustAnchorFile).toBeUndefined();
  expect(api.objects.get('secrets/weft-system/weft-ca').type).toBe('kubernetes.io/tls');
  const pem: string = api.objects.get('configmaps/shop/weft-ca-root').data['root-cert.pem'];
  expect(new X509Certificate(pem).fingerprint256).toBe(new X509Certificate(r.ca.trustBundlePem()).fingerprint256);

  // A proxy that dials the Service name (resolved here to 127.0.0.1) with the ConfigMap's PEM as anchor.
  const proxy = (token: string) => {
    const c = new CaClientIdentityProvider({
      address: r.server.address, trustDomain: 'cluster.local', credential: token, trustAnchor: { pem }, requestTimeoutMs: 20_000,
      channelOptions: { 'grpc.ssl_target_name_override': 'weft-control-plane.weft-system.svc', 'grpc.default_authority': 'weft-control-plane.weft-system.svc' },
    });
    closers.push(() => c.close());
    return c;
  };
  expect((await proxy('projected-cart').renewNow()).spiffeId).toBe('spiffe://cluster.local/ns/shop/sa/cart');
  await expect(proxy('garbage').renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_UNAUTHENTICATED' });

  // A namespace that gains a MeshService gets the ConfigMap on the next pass.
  namespaces = ['shop', 'payments'];
  await r.rootPublisher!.sync();
  expect(api.objects.get('configmaps/payments/weft-ca-root').data['root-cert.pem']).toBe(pem);
}, 60_000);
