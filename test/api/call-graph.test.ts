/** The call-graph analysis (api/call-graph.ts) on models built from hand-written resources: one test per finding. */
import { buildModel } from '../../api/build-model';
import { callGraphProblems, GraphProblem } from '../../api/call-graph';
import type { MeshServiceSpec, MtlsPolicySpec, Retries, RouteRule, WeftResource } from '../../api/resources';

const NS = 'shop';
type Svc = Partial<MeshServiceSpec> & { name: string; meshed?: boolean };

function service(s: Svc): WeftResource<MeshServiceSpec> {
  const { name, meshed, ...spec } = s;
  return {
    apiVersion: 'weft.dev/v1alpha1', kind: 'MeshService',
    metadata: { name, namespace: NS, ...(meshed === false ? { annotations: { 'weft.dev/meshed': 'false' } } : {}) },
    spec: { serviceAccount: name, ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }], interception: 'iptables', ...spec },
  };
}
const route = (name: string, svc: string, routes: RouteRule[]): WeftResource<unknown> =>
  ({ apiVersion: 'weft.dev/v1alpha1', kind: 'CanaryRoute', metadata: { name, namespace: NS }, spec: { service: { name: svc }, routes } });
const policy = (name: string, spec: MtlsPolicySpec): WeftResource<unknown> =>
  ({ apiVersion: 'weft.dev/v1alpha1', kind: 'MtlsPolicy', metadata: { name, namespace: NS }, spec });
const calls = (...names: string[]) => ({ calls: names.map((name) => ({ name })) });
const retries = (attempts: number, perTryTimeout?: string, extra: Partial<Retries> = {}): Retries => ({ attempts, on: ['connect-failure'], ...(perTryTimeout ? { perTryTimeout } : {}), ...extra });

function analyse(...resources: WeftResource<unknown>[]): GraphProblem[] {
  const { model, statuses } = buildModel(resources, []);
  expect(statuses.filter((s) => !s.accepted)).toEqual([]);
  return callGraphProblems(model);
}
const codes = (ps: GraphProblem[]) => ps.map((p) => `${p.code} ${p.kind}/${p.name}`);

test('a clean chain with an ingress has no findings', () => {
  const ps = analyse(
    service({ name: 'web', ingress: true, ...calls('api'), trafficPolicy: { timeout: '5s' } }),
    service({ name: 'api', ...calls('db'), trafficPolicy: { retries: retries(1, '1s'), timeout: '2s' } }),
    service({ name: 'db', trafficPolicy: { retries: retries(2, '200ms'), timeout: '600ms' } }),
  );
  expect(ps).toEqual([]);
});

test('WEFT_ERR_RETRY_AMPLIFICATION: 3 tries at each of three hops is 27 requests; the path is named where it crosses 10', () => {
  const ps = analyse(
    service({ name: 'a', ingress: true, ...calls('b') }),
    service({ name: 'b', ...calls('c'), trafficPolicy: { retries: retries(2) } }),
    service({ name: 'c', ...calls('d'), trafficPolicy: { retries: retries(2) } }),
    service({ name: 'd', trafficPolicy: { retries: retries(2) } }),
  );
  expect(codes(ps)).toEqual(['WEFT_ERR_RETRY_AMPLIFICATION MeshService/d']);
  expect(ps[0].path).toEqual(['shop/a', 'shop/b', 'shop/c', 'shop/d']);
  expect(ps[0].message).toContain('3 × 3 × 3 = 27');
  expect(ps[0].field).toBe('spec.trafficPolicy.retries.attempts');
});

test('maxRetryAmplification on the MeshConfig raises the limit', () => {
  const cfg: WeftResource<unknown> = {
    apiVersion: 'weft.dev/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' },
    spec: { trustDomain: 'shop.local', defaultMtlsMode: 'PERMISSIVE', defaultInboundPolicy: 'allow', proxyImage: 'w:1', controlPlaneImage: 'w:1', controlPlane: { namespace: 'weft-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h', maxRetryAmplification: 30 },
  };
  const ps = analyse(cfg,
    service({ name: 'a', ingress: true, ...calls('b') }),
    service({ name: 'b', ...calls('c'), trafficPolicy: { retries: retries(2) } }),
    service({ name: 'c', ...calls('d'), trafficPolicy: { retries: retries(2) } }),
    service({ name: 'd', trafficPolicy: { retries: retries(2) } }),
  );
  expect(ps).toEqual([]);
});

test('WEFT_ERR_TIMEOUT_BUDGET: the caller\'s per-try deadline is shorter than the callee\'s tries', () => {
  const ps = analyse(
    service({ name: 'web', ingress: true, ...calls('api'), trafficPolicy: { retries: retries(1, '500ms'), timeout: '2s' } }),
    service({ name: 'api', trafficPolicy: { retries: retries(2, '1s'), timeout: '3s' } }),
  );
  expect(codes(ps)).toEqual(['WEFT_ERR_TIMEOUT_BUDGET MeshService/api']);
  expect(ps[0].path).toEqual(['shop/web', 'shop/api']);
  expect(ps[0].message).toContain('500ms');
  expect(ps[0].message).toContain('3 tries × 1s = 3s');
});

test('WEFT_ERR_TIMEOUT_BUDGET: a CanaryRoute\'s own retries are judged per route, and reported on the CanaryRoute', () => {
  const ps = analyse(
    service({ name: 'web', ingress: true, ...calls('api'), trafficPolicy: { timeout: '1s' } }),
    service({ name: 'api' }),
    route('api-routes', 'api', [{ backends: [{ version: 'v1', weight: 100 }], timeout: '4s', retries: retries(3, '1s') }]),
  );
  expect(codes(ps)).toEqual(['WEFT_ERR_TIMEOUT_BUDGET CanaryRoute/api-routes']);
  expect(ps[0].field).toBe('spec.routes[0].retries');
});

test('WEFT_ERR_RETRY_NON_IDEMPOTENT: a POST route retrying on 5xx, unless retries.idempotent', () => {
  const post = (idempotent: boolean) => route('orders', 'orders', [
    { match: [{ method: 'POST' }], backends: [{ version: 'v1', weight: 100 }], retries: { attempts: 2, on: ['5xx'], ...(idempotent ? { idempotent: true } : {}) } },
    { backends: [{ version: 'v1', weight: 100 }] },
  ]);
  const web = service({ name: 'web', ingress: true, ...calls('orders') });
  expect(codes(analyse(web, service({ name: 'orders' }), post(false)))).toEqual(['WEFT_ERR_RETRY_NON_IDEMPOTENT CanaryRoute/orders']);
  expect(analyse(web, service({ name: 'orders' }), post(true))).toEqual([]);
});

test('WEFT_WARN_RETRY_NON_IDEMPOTENT: any-method retries warn only when the authorization lets a caller POST', () => {
  const web = service({ name: 'web', ingress: true, ...calls('orders') });
  const orders = service({ name: 'orders', trafficPolicy: { retries: { attempts: 1, on: ['5xx'] } } });
  const warned = analyse(web, orders);
  expect(warned.map((p) => `${p.severity} ${p.code}`)).toEqual(['warning WEFT_WARN_RETRY_NON_IDEMPOTENT']);
  expect(warned[0].path).toEqual(['shop/web', 'shop/orders']);
  // GET only: a POST never reaches the retrying route, nothing to warn about.
  const getOnly = policy('orders-callers', { scope: { service: 'orders' }, rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'web' }] }], to: [{ methods: ['GET'] }] }] });
  expect(analyse(web, orders, getOnly)).toEqual([]);
  // Retrying only before the request was sent is always safe.
  expect(analyse(web, service({ name: 'orders', trafficPolicy: { retries: { attempts: 1, on: ['connect-failure', 'refused-stream'] } } }))).toEqual([]);
});

test('WEFT_ERR_RETRY_CYCLE: a → b → a where b retries; the cycle is named', () => {
  const ps = analyse(
    service({ name: 'a', ingress: true, ...calls('b') }),
    service({ name: 'b', ...calls('a'), trafficPolicy: { retries: retries(1) } }),
  );
  expect(codes(ps)).toEqual(['WEFT_ERR_RETRY_CYCLE MeshService/b']);
  expect(ps[0].path).toEqual(['shop/b', 'shop/a', 'shop/b']);
  // The same cycle without retries is not an error.
  expect(analyse(service({ name: 'a', ingress: true, ...calls('b') }), service({ name: 'b', ...calls('a') }))).toEqual([]);
});

test('WEFT_ERR_CALL_DENIED: the declared call is denied by the same evaluator mayCall uses', () => {
  const web = service({ name: 'web', ingress: true, ...calls('api') });
  const other = service({ name: 'other', ingress: true, ...calls('api') });
  const onlyOther = policy('api-callers', { scope: { service: 'api' }, rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'other' }] }] }] });
  const ps = analyse(web, other, service({ name: 'api' }), onlyOther);
  expect(codes(ps)).toEqual(['WEFT_ERR_CALL_DENIED MeshService/web']);
  expect(ps[0].path).toEqual(['shop/web', 'shop/api']);
  expect(ps[0].message).toContain('no_matching_allow');
  // Allowed on a path only: the probe built from the rule finds the allowed request.
  const onPath = policy('api-callers', { scope: { service: 'api' }, rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'web' }, { name: 'other' }] }], to: [{ methods: ['GET'], paths: ['/v1/*'] }] }] });
  expect(analyse(web, other, service({ name: 'api' }), onPath)).toEqual([]);
});

test('WEFT_ERR_CANARY_CALLS_UNPOLICED: v2 adds a dependency and both versions get traffic, with no policy naming the caller', () => {
  const reviews = service({
    name: 'reviews', ...calls('details'),
    versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1, calls: [{ name: 'ratings' }] }],
  });
  const split = route('reviews-canary', 'reviews', [{ backends: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] }]);
  const base = [service({ name: 'web', ingress: true, ...calls('reviews') }), service({ name: 'details' }), service({ name: 'ratings' }), reviews, split];
  const ps = analyse(...base);
  expect(codes(ps)).toEqual(['WEFT_ERR_CANARY_CALLS_UNPOLICED CanaryRoute/reviews-canary']);
  expect(ps[0].path).toEqual(['shop/reviews@v2', 'shop/ratings']);
  // A policy on ratings that names reviews makes the new dependency deliberate.
  const allow = policy('ratings-callers', { scope: { service: 'ratings' }, rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'reviews' }] }] }] });
  expect(analyse(...base, allow)).toEqual([]);
  // Only v1 gets traffic: the versions do not share it, nothing to report.
  const allV1 = route('reviews-canary', 'reviews', [{ backends: [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }] }]);
  expect(analyse(...base.slice(0, 4), allV1)).toEqual([]);
});

test('a version\'s calls are calls of the service for authorization and outbound scoping', () => {
  const { model } = buildModel([
    service({ name: 'ratings' }),
    service({ name: 'reviews', versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1, calls: [{ name: 'ratings' }] }] }),
  ], []);
  const reviews = model.services.find((s) => s.name === 'reviews')!;
  expect(reviews.calls).toEqual([{ name: 'ratings', namespace: NS }]);
  expect(reviews.versions.map((v) => v.calls ?? [])).toEqual([[], [{ name: 'ratings', namespace: NS }]]);
});

test('WEFT_WARN_UNREACHABLE: no caller and no ingress is a warning naming the service', () => {
  const ps = analyse(service({ name: 'web', ingress: true }), service({ name: 'orphan' }));
  expect(ps.map((p) => `${p.severity} ${p.code} ${p.name}`)).toEqual(['warning WEFT_WARN_UNREACHABLE orphan']);
  expect(ps[0].fix).toContain('ingress: true');
});

test('500 services in a chain with fan-out are analysed quickly enough for synth', () => {
  const svcs = Array.from({ length: 500 }, (_, i) => service({
    name: `s${i}`, ...(i === 0 ? { ingress: true } : {}),
    ...calls(...[2 * i + 1, 2 * i + 2].filter((j) => j < 500).map((j) => `s${j}`)),
    trafficPolicy: { retries: retries(1) },
  }));
  const ps = analyse(...svcs);
  // 2 tries per hop: 2^4 = 16 > 10 first at depth 4 (s15..s30 are the 16 nodes of that level).
  expect(ps.filter((p) => p.code === 'WEFT_ERR_RETRY_AMPLIFICATION').map((p) => p.name).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `s${15 + i}`).sort());
});
