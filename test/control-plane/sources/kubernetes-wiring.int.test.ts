/**
 * The whole Kubernetes path with no part replaced: recorded API server → client-node informers →
 * KubernetesSource → startControlPlane (buildModel, translate, ADS) → a real gRPC ADS client; and
 * the model's verdicts back through the status subresource.
 */
import { CLUSTER, ENDPOINT, LISTENER } from '../../../api/xds/protos';
import { ControlPlane, startControlPlane } from '../../../control-plane/server';
import { KubernetesSource } from '../../../control-plane/sources/kubernetes';
import { loadK8sClient } from '../../support/recorded-k8s/client';
import { readRecording, readStream, RecordedApiServer } from '../../support/recorded-k8s/server';
import { TestAdsClient } from '../../cli/ads-client';

const client = loadK8sClient();
let api: RecordedApiServer;
let cp: ControlPlane;
let ads: TestAdsClient;

beforeAll(async () => {
  api = await RecordedApiServer.start();
  for (const l of ['meshconfigs', 'meshservices', 'canaryroutes', 'mtlspolicies', 'services', 'endpointslices', 'pods']) api.load(readRecording(`${l}.json`));
  const source = new KubernetesSource({ client, kubeConfig: api.kubeConfig(client), debounceMs: 20, restartBackoff: { baseMs: 10, maxMs: 50 } });
  cp = await startControlPlane({ source, port: 0, host: '127.0.0.1' });
  ads = new TestAdsClient(`127.0.0.1:${cp.port}`, { id: 'grpc-client-k8s', user_agent_name: 'gRPC Node Pure JS', locality: {} });
  ads.start();
});

afterAll(async () => {
  ads?.close();
  await cp?.stop();
  await api?.close();
});

const edsAddresses = () => JSON.stringify(ads.received.get(ENDPOINT)?.resources ?? []);

test('cluster state reaches an xDS client, and verdicts are written back as status conditions', async () => {
  await ads.until(() => ads.acked.has(LISTENER) && ads.acked.has(CLUSTER) && edsAddresses().includes('10.244.1.12'));
  expect(edsAddresses()).toContain('10.244.2.11');
  expect(edsAddresses()).toContain('10.244.1.14');
  expect(edsAddresses()).not.toContain('10.244.0.2'); // kube-dns is not in the mesh

  // Every custom resource got Accepted/ResolvedRefs conditions through a merge patch on /status.
  const paths = () => api.requests.filter((r) => r.method === 'PATCH').map((r) => r.path).sort();
  for (let i = 0; i < 100 && paths().length < 5; i++) await new Promise((r) => setTimeout(r, 20));
  expect(paths()).toEqual([
    '/apis/weft.dev/v1alpha1/meshconfigs/mesh/status',
    '/apis/weft.dev/v1alpha1/namespaces/shop/canaryroutes/reviews-canary/status',
    '/apis/weft.dev/v1alpha1/namespaces/shop/meshservices/ratings/status',
    '/apis/weft.dev/v1alpha1/namespaces/shop/meshservices/reviews/status',
    '/apis/weft.dev/v1alpha1/namespaces/shop/mtlspolicies/ratings-authz/status',
  ]);
  const conditions = (api.get('MeshService', 'reviews', 'shop')?.status as { conditions: { type: string; status: string; observedGeneration: number }[] }).conditions;
  expect(conditions.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
    ['Accepted', 'True', 1],
    ['ResolvedRefs', 'True', 1],
  ]);
});

test('a rollout in the cluster becomes a new EDS push; status is not rewritten when nothing changed', async () => {
  const patchesBefore = api.requests.filter((r) => r.method === 'PATCH').length;
  for (const ev of readStream('reviews-v2-rollout.ndjson')) api.apply(ev);
  await ads.until(() => edsAddresses().includes('10.244.1.15'));
  expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(patchesBefore);
});

test('two replicas on the same cluster serve identical versions, and their status writes agree', async () => {
  const second = new KubernetesSource({ client, kubeConfig: api.kubeConfig(client), debounceMs: 20, restartBackoff: { baseMs: 10, maxMs: 50 } });
  const cp2 = await startControlPlane({ source: second, port: 0, host: '127.0.0.1' });
  const ads2 = new TestAdsClient(`127.0.0.1:${cp2.port}`, { id: 'grpc-client-k8s-2', user_agent_name: 'gRPC Node Pure JS', locality: {} });
  try {
    ads2.start();
    await ads2.until(() => ads2.acked.has(LISTENER) && ads2.acked.has(CLUSTER) && JSON.stringify(ads2.received.get(ENDPOINT)?.resources ?? []).includes('10.244.1.15'));
    // Content-hash versions: a proxy moving between replicas sees no change.
    for (const t of [LISTENER, CLUSTER, ENDPOINT]) expect(ads2.received.get(t)?.version).toBe(ads.received.get(t)?.version);
    // Whatever the second replica wrote (it may race the first) says the same thing as what is stored.
    const strip = (b: unknown) => JSON.stringify((b as { status: { conditions: { lastTransitionTime?: string }[] } }).status.conditions.map(({ lastTransitionTime: _t, ...c }) => c));
    let checked = 0;
    for (const p of api.requests.filter((r) => r.method === 'PATCH')) {
      const m = /^\/apis\/weft\.dev\/v1alpha1\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)\/status$/.exec(p.path);
      const kind = m ? { meshservices: 'MeshService', canaryroutes: 'CanaryRoute', mtlspolicies: 'MtlsPolicy' }[m[2]] : undefined;
      if (!m || !kind) continue;
      expect(strip(p.body)).toBe(strip({ status: api.get(kind, m[3], m[1])?.status }));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  } finally {
    ads2.close();
    await cp2.stop();
  }
});
