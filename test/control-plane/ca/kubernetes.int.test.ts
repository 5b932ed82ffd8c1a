/**
 * The Kubernetes path of the CA through @kubernetes/client-node's real code (built to CommonJS by
 * test/support/recorded-k8s, since jest cannot load its ESM) against a local HTTP server that
 * answers like the API server (TokenReview, Secret get/create): a proxy with a projected
 * ServiceAccount token gets a certificate for that ServiceAccount; other tokens are refused.
 */
import * as http from 'node:http';
import { once } from 'node:events';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { TokenReviewAuthenticator, kubernetesCaApis, loadOrCreateSecretCa } from '../../../control-plane/ca/kubernetes';
import { startCaServer } from '../../../control-plane/ca/service';
import { CaClientIdentityProvider } from '../../../proxy/identity/ca-client';
import { loadK8sClient } from '../../support/recorded-k8s/client';
import { k8sStatus, sendJson } from '../../support/recorded-k8s/server';

interface Recorded { method: string; url: string; auth?: string; body?: any } // eslint-disable-line @typescript-eslint/no-explicit-any

/** Recorded API-server behaviour: TokenReview verdicts per token, one Secret store. */
function fakeApiServer() {
  const requests: Recorded[] = [];
  const secrets = new Map<string, unknown>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      const url = req.url!.split('?')[0];
      if (req.method === 'POST' && url === '/apis/authentication.k8s.io/v1/tokenreviews') {
        const token: string = body.spec.token;
        const audiences: string[] = body.spec.audiences ?? [];
        const review = (st: object) => sendJson(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: body.spec, status: st });
        if (token === 'projected-cart' && audiences.includes('weft')) {
          return review({ authenticated: true, audiences: ['weft'], user: { username: 'system:serviceaccount:shop:cart', uid: 'u1', groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'], extra: { 'authentication.kubernetes.io/pod-name': ['cart-v1-7d9f'] } } });
        }
        if (token === 'projected-kubelet') return review({ authenticated: true, audiences: ['weft'], user: { username: 'system:node:worker-1', groups: ['system:nodes'] } });
        if (token === 'legacy-cart') return review({ authenticated: false, error: '[invalid bearer token, token audiences ["https://kubernetes.default.svc"] is invalid for the target audiences ["weft"]]' });
        return review({ authenticated: false, error: 'invalid bearer token' });
      }
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(url);
      if (m && req.method === 'GET' && m[2]) {
        const s = secrets.get(`${m[1]}/${m[2]}`);
        return s ? sendJson(res, 200, s) : sendJson(res, 404, k8sStatus(404, 'NotFound', `secrets "${m[2]}" not found`));
      }
      if (m && req.method === 'POST' && !m[2]) {
        const key = `${m[1]}/${body.metadata.name}`;
        if (secrets.has(key)) return sendJson(res, 409, k8sStatus(409, 'AlreadyExists', `secrets "${body.metadata.name}" already exists`));
        const stored = { ...body, metadata: { ...body.metadata, uid: 'abc', resourceVersion: '1' } };
        secrets.set(key, stored);
        return sendJson(res, 201, stored);
      }
      sendJson(res, 404, k8sStatus(404, 'NotFound', 'the server could not find the requested resource'));
    });
  });
  return { server, requests, secrets };
}

/** The CA as the control plane runs it in Kubernetes: Secret-backed material, TokenReview credentials, client-node's real code. */
async function startKubeCa(api: string) {
  const k8s = loadK8sClient();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: api, skipTLSVerify: true }],
    users: [{ name: 'weft-control-plane', token: 'control-plane-sa-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'weft-control-plane' }],
    currentContext: 'fake',
  });
  const apis = kubernetesCaApis(kc, k8s);
  const { material, created } = await loadOrCreateSecretCa(apis.secrets, { namespace: 'weft-system', name: 'weft-ca', trustDomain: 'cluster.local' });
  const ca = await CertificateAuthority.create({ trustDomain: 'cluster.local', material });
  const refusals: string[] = [];
  const server = await startCaServer(ca, { authenticator: new TokenReviewAuthenticator({ api: apis.tokenReview }), onRefused: (code, msg) => refusals.push(`${code} ${msg}`) });
  return { server, created, bundle: ca.trustBundlePem(), refusals };
}

test('TokenReview path: projected SA token → certificate for that ServiceAccount; CA Secret created once, then reused', async () => {
  const api = fakeApiServer();
  api.server.listen(0, '127.0.0.1');
  await once(api.server, 'listening');
  const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  const first = await startKubeCa(url);
  const clients: CaClientIdentityProvider[] = [];
  const client = (credential: string) => {
    // no background retry after a refusal: on a slow machine it would add a TokenReview the test counts
    const c = new CaClientIdentityProvider({ address: first.server.address, trustDomain: 'cluster.local', credential, minRetryMs: 3_600_000, maxRetryMs: 3_600_000 });
    clients.push(c);
    return c;
  };
  try {
    expect(first.created).toBe(true);
    const m = await client('projected-cart').renewNow();
    expect(m.spiffeId).toBe('spiffe://cluster.local/ns/shop/sa/cart');
    expect(m.trustBundlePem).toBe(first.bundle);

    await expect(client('legacy-cart').renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_UNAUTHENTICATED' });
    await expect(client('projected-kubelet').renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_NOT_A_WORKLOAD' });
    await expect(client('garbage').renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_CA_UNAUTHENTICATED' });

    const reviews = api.requests.filter((r) => r.url.startsWith('/apis/authentication.k8s.io/v1/tokenreviews'));
    expect(reviews).toHaveLength(4);
    expect(reviews[0].body.spec).toEqual({ token: 'projected-cart', audiences: ['weft'] });
    expect(reviews.every((r) => r.auth === 'Bearer control-plane-sa-token')).toBe(true);

    const secret = api.secrets.get('weft-system/weft-ca') as { type: string; data: Record<string, string> };
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    // Refusals are reported with codes, never with the token or key material.
    expect(first.refusals).toHaveLength(3);
    expect(first.refusals.join('\n')).not.toMatch(/PRIVATE KEY|projected-|legacy-cart|garbage/);
  } finally {
    for (const c of clients) c.close();
    await first.server.close();
  }
  // A restarted control plane reads the Secret instead of generating another root.
  const second = await startKubeCa(url);
  try {
    expect(second.created).toBe(false);
    expect(second.bundle).toBe(first.bundle);
  } finally {
    await second.server.close();
    api.server.close();
  }
}, 60_000);
