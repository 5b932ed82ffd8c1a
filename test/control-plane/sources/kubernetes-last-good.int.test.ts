/**
 * Last good under the Kubernetes source, nothing replaced: recorded API server → client-node
 * informers → KubernetesSource → startControlPlane → real ADS clients. Invalid edits that reached
 * the API (CRDs installed without the CEL rules) are rejected on the resource's status and change
 * nothing a proxy receives; a policy never accepted denies.
 */
import { authorize } from '../../../api/authz';
import type { MeshModel } from '../../../api/model';
import { LISTENER, ROUTE } from '../../../api/xds/protos';
import { ControlPlane, startControlPlane } from '../../../control-plane/server';
import { KubernetesSource } from '../../../control-plane/sources/kubernetes';
import { TestAdsClient } from '../../cli/ads-client';
import { loadK8sClient } from '../../support/recorded-k8s/client';
import { readRecording, readStream, RecordedApiServer } from '../../support/recorded-k8s/server';

const client = loadK8sClient();
let api: RecordedApiServer;
let cp: ControlPlane;
let proxyless: TestAdsClient;
let ratingsSidecar: TestAdsClient;

const principal = (sa: string) => `spiffe://shop.local/ns/shop/sa/${sa}`;
const ask = (m: MeshModel, service: string, from: string, path: string, method: string) =>
  authorize(m.policies, { principal: principal(from), destination: { service, namespace: 'shop' }, port: service === 'ratings' ? 9090 : 9080, path, method });
/** Versions a client received for a type, repeats folded. */
const distinct = (c: TestAdsClient, type: string) => (c.versions.get(type) ?? []).filter((v, i, all) => i === 0 || all[i - 1] !== v);

/** The last status PATCH body of `plural/name` once its Accepted condition is `status` (bounded wait). */
async function acceptedCondition(plural: string, name: string, status: 'True' | 'False'): Promise<{ status: string; reason: string; message: string; observedGeneration: number }> {
  const path = `/apis/weft.dev/v1alpha1/namespaces/shop/${plural}/${name}/status`;
  for (let i = 0; i < 400; i++) {
    const patches = api.requestsTo('PATCH', path);
    const body = patches[patches.length - 1]?.body as { status?: { conditions?: { type: string; status: string; reason: string; message: string; observedGeneration: number }[] } } | undefined;
    const c = body?.status?.conditions?.find((x) => x.type === 'Accepted');
    if (c?.status === status) return c;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no Accepted=${status} patch for ${plural}/${name}`);
}

beforeAll(async () => {
  api = await RecordedApiServer.start();
  for (const l of ['meshconfigs', 'meshservices', 'canaryroutes', 'mtlspolicies', 'services', 'endpointslices', 'pods']) api.load(readRecording(`${l}.json`));
  const source = new KubernetesSource({ client, kubeConfig: api.kubeConfig(client), debounceMs: 20, restartBackoff: { baseMs: 10, maxMs: 50 } });
  cp = await startControlPlane({ source, port: 0, host: '127.0.0.1' });
  proxyless = new TestAdsClient(`127.0.0.1:${cp.port}`, { id: 'grpc-client-last-good', user_agent_name: 'gRPC Node Pure JS', locality: {} });
  ratingsSidecar = new TestAdsClient(`127.0.0.1:${cp.port}`, { id: 'ratings-v1-0', user_agent_name: 'weft-proxy', metadata: { service: 'ratings', namespace: 'shop', version: 'v1' }, locality: {} });
  proxyless.start();
  ratingsSidecar.start();
  await proxyless.until(() => proxyless.acked.has(ROUTE));
  await ratingsSidecar.until(() => ratingsSidecar.acked.has(LISTENER));
  await acceptedCondition('mtlspolicies', 'ratings-authz', 'True');
});

afterAll(async () => {
  proxyless?.close();
  ratingsSidecar?.close();
  await cp?.stop();
  await api?.close();
});

test('invalid live edits of a CanaryRoute (60/50) and an ALLOW MtlsPolicy (ALLOWX) change nothing served; a new invalid policy denies', async () => {
  const model0 = cp.model()!;
  const routes0 = model0.services.find((s) => s.name === 'reviews')!.routes;
  expect(routes0.map((r) => r.name)).toEqual(['reviews-canary.beta-testers', 'reviews-canary.split', 'default']);
  expect(ask(model0, 'ratings', 'reviews', '/ratings.v1.Ratings/Get', 'POST').allowed).toBe(true);
  expect(ask(model0, 'ratings', 'productpage', '/ratings.v1.Ratings/Get', 'POST').allowed).toBe(false);

  for (const ev of readStream('canary-invalid-weights.ndjson')) api.apply(ev);
  const route = await acceptedCondition('canaryroutes', 'reviews-canary', 'False');
  expect(route).toMatchObject({ reason: 'InvalidWeights', observedGeneration: 2 });
  expect(route.message).toMatch(/^WEFT_ERR_MODEL_INVALID_WEIGHTS: .*the last accepted version \(generation 1\) stays in force$/);
  expect(cp.model()!.services.find((s) => s.name === 'reviews')!.routes).toEqual(routes0);

  for (const ev of readStream('mtlspolicy-invalid-action.ndjson')) api.apply(ev);
  const policy = await acceptedCondition('mtlspolicies', 'ratings-authz', 'False');
  expect(policy).toMatchObject({ reason: 'InvalidSpec', observedGeneration: 2 });
  expect(policy.message).toMatch(/^WEFT_ERR_INVALID_CONFIG: .*ALLOWX/);
  expect(ask(cp.model()!, 'ratings', 'reviews', '/ratings.v1.Ratings/Get', 'POST').allowed).toBe(true);
  expect(ask(cp.model()!, 'ratings', 'productpage', '/ratings.v1.Ratings/Get', 'POST')).toMatchObject({ allowed: false, reason: 'no_matching_allow' });

  for (const ev of readStream('mtlspolicy-new-invalid.ndjson')) api.apply(ev);
  const fresh = await acceptedCondition('mtlspolicies', 'reviews-authz', 'False');
  expect(fresh.message).toMatch(/^WEFT_ERR_INVALID_CONFIG: .*serviceAccount.*DENIED/);
  expect(ask(cp.model()!, 'reviews', 'productpage', '/reviews/1', 'GET')).toMatchObject({ allowed: false, reason: 'denied_by_policy' });

  // A valid edit still goes through, and it is the only route change the proxyless client ever saw.
  for (const ev of readStream('canary-promote.ndjson')) api.apply(ev);
  await acceptedCondition('canaryroutes', 'reviews-canary', 'True');
  await proxyless.until(() => distinct(proxyless, ROUTE).length >= 2);
  expect(distinct(proxyless, ROUTE)).toHaveLength(2);
  expect(JSON.stringify(proxyless.received.get(ROUTE)!.resources)).toContain('x-beta');
  // ratings' listeners (its inbound authorization included) never changed.
  expect(distinct(ratingsSidecar, LISTENER)).toHaveLength(1);
  expect(JSON.stringify(ratingsSidecar.received.get(LISTENER)!.resources)).toContain('shop/ratings-authz#from-reviews');
});

test('the version in force is stored on the resource, so a replica started later serves the same config', async () => {
  // ratings-authz is still rejected (ALLOWX); its last accepted spec (generation 1) is in its status
  const stored = api.get('MtlsPolicy', 'ratings-authz', 'shop')!.status as { lastAcceptedSpec: string; lastAcceptedGeneration: number };
  expect(stored.lastAcceptedGeneration).toBe(1);
  expect(JSON.parse(stored.lastAcceptedSpec).rules[0].action).toBe('ALLOW');
  const second = new KubernetesSource({ client, kubeConfig: api.kubeConfig(client), debounceMs: 20, restartBackoff: { baseMs: 10, maxMs: 50 } });
  const cp2 = await startControlPlane({ source: second, port: 0, host: '127.0.0.1' });
  const side2 = new TestAdsClient(`127.0.0.1:${cp2.port}`, { id: 'ratings-v1-1', user_agent_name: 'weft-proxy', metadata: { service: 'ratings', namespace: 'shop', version: 'v1' }, locality: {} });
  try {
    side2.start();
    await side2.until(() => side2.acked.has(LISTENER));
    expect(cp2.statuses().find((s) => s.name === 'ratings-authz')).toMatchObject({ accepted: false, inForce: 'last-accepted' });
    expect(ask(cp2.model()!, 'ratings', 'reviews', '/ratings.v1.Ratings/Get', 'POST').allowed).toBe(true);
    expect(ask(cp2.model()!, 'ratings', 'productpage', '/ratings.v1.Ratings/Get', 'POST').allowed).toBe(false);
    // content-hash versions: the new replica's listeners are byte-identical to the first one's
    expect(side2.received.get(LISTENER)!.version).toBe(ratingsSidecar.received.get(LISTENER)!.version);
  } finally {
    side2.close();
    await cp2.stop();
  }
});
