/** One test per validation code: each builds the smallest mesh that breaks one rule and asserts `.code`. */
import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  CanaryRoute, Mesh, MeshService, MtlsMode, MtlsPolicy, PathMatch, Protocol, VALIDATION_CODES, WARNING_CODES,
} from '../../constructs';
import { meshCheck } from '../../constructs/mesh-check';
import { registerEmitter } from '../../constructs/custom-resource';
import { expectCode, fixture, synth } from './support';

const IMG = 'registry.example/app:1';

function base() {
  const f = fixture();
  const reviews = new MeshService(f.chart, 'reviews', {
    mesh: f.mesh, image: IMG, port: 9080, protocol: Protocol.HTTP,
    versions: { v1: {}, v2: { replicas: 1 } },
  });
  return { ...f, reviews };
}

const tested = new Set<string>();
function code(c: keyof typeof VALIDATION_CODES, fn: () => void) {
  tested.add(c);
  test(c, fn);
}

code('WEFT_ERR_INVALID_NAME', () => {
  const { chart, mesh } = fixture();
  const err = expectCode(() => new MeshService(chart, 'Ratings_Svc', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP }), 'WEFT_ERR_INVALID_NAME');
  expect(err.path).toBe('shop/Ratings_Svc');
  expect(err.value).toBe('Ratings_Svc');
  expect(err.fix).toContain('"ratings-svc"');
});

code('WEFT_ERR_DUPLICATE_NAME', () => {
  // GIVEN two constructs that emit the same MeshService shop/ratings
  const { chart, mesh } = fixture();
  new MeshService(chart, 'ratings-a', { mesh, name: 'ratings', image: IMG, port: 80, protocol: Protocol.HTTP });
  new MeshService(chart, 'ratings-b', { mesh, name: 'ratings', image: IMG, port: 80, protocol: Protocol.HTTP });
  // THEN synth fails on the second one
  const err = expectCode(() => synth(chart), 'WEFT_ERR_DUPLICATE_NAME');
  expect(err.path).toBe('shop/ratings-b');
});

code('WEFT_ERR_INVALID_PROP', () => {
  const { chart, mesh } = fixture();
  const err = expectCode(() => new MeshService(chart, 'x', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, timeout: '2 seconds' }), 'WEFT_ERR_INVALID_PROP');
  expect(err.prop).toBe('timeout');
});

code('WEFT_ERR_MISSING_PROP', () => {
  const { chart, mesh } = fixture();
  const err = expectCode(() => new MeshService(chart, 'x', { mesh, image: IMG, port: 80 }), 'WEFT_ERR_MISSING_PROP');
  expect(err.prop).toBe('protocol');
});

code('WEFT_ERR_INVALID_WEIGHT', () => {
  const { chart, reviews } = base();
  expectCode(() => new CanaryRoute(chart, 'c', { service: reviews, split: { v1: 90, v2: 20 } }), 'WEFT_ERR_INVALID_WEIGHT');
  const neg = expectCode(() => new CanaryRoute(chart, 'd', { service: reviews, split: { v1: 110, v2: -10 } }), 'WEFT_ERR_INVALID_WEIGHT');
  expect(neg.prop).toBe('split.v1');
});

code('WEFT_ERR_UNKNOWN_VERSION', () => {
  const { chart, reviews } = base();
  const err = expectCode(() => new CanaryRoute(chart, 'c', { service: reviews, split: { v1: 90, v3: 10 } }), 'WEFT_ERR_UNKNOWN_VERSION');
  expect(err.fix).toContain('v1, v2');
});

code('WEFT_ERR_UNKNOWN_SERVICE', () => {
  const { chart, reviews } = base();
  reviews.calls({ serviceName: 'ghost', namespace: 'shop' });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_UNKNOWN_SERVICE');
  expect(err.path).toBe('shop/reviews');
  expect(err.prop).toBe('spec.calls[0]');
});

code('WEFT_ERR_UNKNOWN_PORT', () => {
  const { chart, reviews } = base();
  new CanaryRoute(chart, 'c', { service: reviews, port: 'grpc', split: { v1: 100 } });
  expectCode(() => synth(chart), 'WEFT_ERR_UNKNOWN_PORT');
});

code('WEFT_ERR_PROTOCOL_MISMATCH', () => {
  // GIVEN an L7 route (header match) on a service whose only port is opaque tcp
  const { chart, mesh } = fixture();
  const db = new MeshService(chart, 'db', { mesh, image: IMG, port: 5432, protocol: Protocol.TCP, versions: { a: {}, b: {} } });
  new CanaryRoute(chart, 'db-route', { service: db, match: [{ headers: { 'x-canary': 'always' }, to: 'b' }], split: { a: 50, b: 50 } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_PROTOCOL_MISMATCH');
  expect(err.path).toBe('shop/db-route');
});

code('WEFT_ERR_ROUTE_CONFLICT', () => {
  const { chart, reviews } = base();
  new CanaryRoute(chart, 'first', { service: reviews, split: { v1: 100 } });
  new CanaryRoute(chart, 'second', { service: reviews, split: { v2: 100 } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_ROUTE_CONFLICT');
  expect(err.path).toBe('shop/second');
});

code('WEFT_ERR_SHADOWED_MATCH', () => {
  // GIVEN /api before /api/v1: the second can never match
  const { chart, reviews } = base();
  new CanaryRoute(chart, 'c', { service: reviews })
    .addRoute({ name: 'api', match: [{ path: PathMatch.prefix('/api') }], backends: { v1: 100 } })
    .addRoute({ name: 'api-v1', match: [{ path: PathMatch.prefix('/api/v1') }], backends: { v2: 100 } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_SHADOWED_MATCH');
  expect(err.prop).toBe('spec.routes[1].match');
});

code('WEFT_ERR_RETRY_EXCEEDS_TIMEOUT', () => {
  const { chart, mesh } = fixture();
  const err = expectCode(() => new MeshService(chart, 'x', {
    mesh, image: IMG, port: 80, protocol: Protocol.HTTP, timeout: '2s',
    retries: { attempts: 3, on: ['5xx'], perTryTimeout: '1s' },
  }), 'WEFT_ERR_RETRY_EXCEEDS_TIMEOUT');
  expect(err.message).toContain('4000ms');
});

code('WEFT_ERR_ZERO_REPLICAS', () => {
  const { chart, mesh } = fixture();
  const svc = new MeshService(chart, 'reviews', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, versions: { v1: {}, v2: { replicas: 0 } } });
  const err = expectCode(() => new CanaryRoute(chart, 'c', { service: svc, split: { v1: 90, v2: 10 } }), 'WEFT_ERR_ZERO_REPLICAS');
  expect(err.prop).toBe('split.v2');
});

code('WEFT_ERR_UNMESHED_CALLER', () => {
  // GIVEN a legacy workload without a sidecar that calls reviews, and mesh-wide STRICT
  const { chart, mesh, reviews } = base();
  new MeshService(chart, 'legacy', { mesh, image: IMG, port: 8080, protocol: Protocol.HTTP, meshed: false }).calls(reviews);
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_UNMESHED_CALLER');
  expect(err.path).toBe('shop/strict');
  expect(err.fix).toContain('PERMISSIVE');
});

code('WEFT_ERR_RESERVED_PORT', () => {
  const { chart, mesh } = fixture();
  const err = expectCode(() => new MeshService(chart, 'x', { mesh, image: IMG, port: 15006, protocol: Protocol.HTTP }), 'WEFT_ERR_RESERVED_PORT');
  expect(err.value).toBe(15006);
});

code('WEFT_ERR_UNKNOWN_IDENTITY', () => {
  const { chart, mesh, reviews } = base();
  new MtlsPolicy(chart, 'p', { mesh, service: reviews }).allow({ from: { principals: ['spiffe://shop.local/ns/shop/sa/ghost'] } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_UNKNOWN_IDENTITY');
  expect(err.prop).toBe('spec.rules[0].from[0].principals');
});

code('WEFT_ERR_INVALID_SCOPE', () => {
  const { chart, mesh } = fixture();
  expectCode(() => new MtlsPolicy(chart, 'p', { mesh, port: 9080, mode: MtlsMode.PERMISSIVE }), 'WEFT_ERR_INVALID_SCOPE');
});

code('WEFT_ERR_INVALID_STEP', () => {
  const { chart, reviews } = base();
  const err = expectCode(() => new CanaryRoute(chart, 'c', { service: reviews, split: { v1: 90, v2: 10 }, steps: [{ weight: 50 }, { weight: 10 }] }), 'WEFT_ERR_INVALID_STEP');
  expect(err.prop).toBe('steps[1].weight');
});

code('WEFT_ERR_MULTIPLE_MESHES', () => {
  const { chart } = fixture();
  expectCode(() => new Mesh(chart, 'mesh2'), 'WEFT_ERR_MULTIPLE_MESHES');
});

code('WEFT_ERR_INVALID_RESOURCE', () => {
  // GIVEN a JavaScript caller that bypasses the types: local.command holds a number
  const { chart, mesh } = fixture();
  new MeshService(chart, 'x', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, local: { command: [42 as unknown as string] } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_INVALID_RESOURCE');
  expect(err.message).toContain('spec.versions[0].local.command[0]');
});

code('WEFT_ERR_UNTRANSLATABLE', () => {
  // GIVEN an escape-hatch construct emitting a route that ends in both backends and a direct response:
  // meshProblems() has no rule for it, the control plane's model builder rejects it.
  const { chart } = base();
  const c = rawEmitter(chart, 'raw', { service: { name: 'reviews' }, routes: [{ backends: [{ version: 'v1', weight: 100 }], directResponse: { status: 503 } }] });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_UNTRANSLATABLE');
  expect(err.path).toBe(c.node.path);
  expect(err.message).toContain('WEFT_ERR_MODEL_CONTRADICTION');
});

code('WEFT_ERR_NO_MESH', () => {
  // GIVEN a service whose Mesh lives in another App: this App has no Mesh to validate or install it
  const { mesh } = fixture();
  const other = Testing.app();
  const chart = new Chart(other, 'team', { namespace: 'team' });
  new MeshService(chart, 'orders', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP });
  const err = expectCode(() => other.synth(), 'WEFT_ERR_NO_MESH');
  expect(err.path).toBe('team/orders');
  expect(err.fix).toContain('Mesh.fromExisting');
});

code('WEFT_ERR_SELF_CALL', () => {
  const { chart, reviews } = base();
  reviews.calls(reviews);
  const err = expectCode(() => synth(chart), 'WEFT_ERR_SELF_CALL');
  expect(err.path).toBe('shop/reviews');
  expect(err.prop).toBe('spec.calls[0]');
});

code('WEFT_ERR_STRICT_UNMESHED', () => {
  // GIVEN a workload without a sidecar that a service-scoped policy makes STRICT: nothing can enforce it
  const { chart, mesh } = fixture();
  const legacy = new MeshService(chart, 'legacy', { mesh, image: IMG, port: 8080, protocol: Protocol.HTTP, meshed: false, ingress: true });
  new MtlsPolicy(chart, 'legacy-strict', { mesh, service: legacy, mode: MtlsMode.STRICT });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_STRICT_UNMESHED');
  expect(err.path).toBe('shop/legacy-strict');
});

code('WEFT_ERR_SERVICE_NAME_CONFLICT', () => {
  // GIVEN a hand-written Service named like the MeshService reviews in the same namespace
  const { chart } = base();
  new k8s.KubeService(chart, 'handmade', { metadata: { name: 'reviews' }, spec: { ports: [{ port: 80 }] } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_SERVICE_NAME_CONFLICT');
  expect(err.path).toBe('shop/handmade');
});

code('WEFT_ERR_PROBE_INTERCEPTED', () => {
  // GIVEN a readiness probe on the declared (captured) port 9080 under mesh-wide STRICT
  const { chart, mesh } = fixture();
  new MeshService(chart, 'api', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP, ingress: true, probes: { readiness: { httpGet: { path: '/healthz' } } } });
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_PROBE_INTERCEPTED');
  expect(err.prop).toBe('probes.readiness');
});

code('WEFT_ERR_RETRY_AMPLIFICATION', () => {
  const { chart, mesh } = fixture();
  const hop = (id: string) => new MeshService(chart, id, { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, retries: { attempts: 2, on: ['connect-failure'] } });
  const [a, b, c] = [hop('a'), hop('b'), hop('c')];
  new MeshService(chart, 'edge', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls(a);
  a.calls(b); b.calls(c);
  const err = expectCode(() => synth(chart), 'WEFT_ERR_RETRY_AMPLIFICATION');
  expect(err.path).toBe('shop/c');
  expect(err.message).toContain('shop/edge → shop/a → shop/b → shop/c');
});

code('WEFT_ERR_TIMEOUT_BUDGET', () => {
  const { chart, mesh } = fixture();
  const api = new MeshService(chart, 'api', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, retries: { attempts: 2, on: ['connect-failure'], perTryTimeout: '1s' }, timeout: '3s' });
  new MeshService(chart, 'web', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true, timeout: '1s' }).calls(api);
  const err = expectCode(() => synth(chart), 'WEFT_ERR_TIMEOUT_BUDGET');
  expect(err.path).toBe('shop/api');
  expect(err.message).toContain('graph path: shop/web → shop/api');
});

code('WEFT_ERR_RETRY_NON_IDEMPOTENT', () => {
  const { chart, reviews } = base();
  new MeshService(chart, 'web', { mesh: reviews.mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls(reviews);
  new CanaryRoute(chart, 'orders', { service: reviews, split: { v1: 100 } })
    .addRoute({ name: 'create', match: [{ method: 'POST' }], backends: { v2: 100 }, retries: { attempts: 1, on: ['5xx'] } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_RETRY_NON_IDEMPOTENT');
  expect(err.path).toBe('shop/orders');
  expect(err.fix).toContain('idempotent: true');
  // The opt-in: the app makes POST idempotent, so the retry is allowed and written to the resource.
  const ok = base();
  new MeshService(ok.chart, 'web', { mesh: ok.reviews.mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls(ok.reviews);
  new CanaryRoute(ok.chart, 'orders', { service: ok.reviews, split: { v1: 100 } })
    .addRoute({ name: 'create', match: [{ method: 'POST' }], backends: { v2: 100 }, retries: { attempts: 1, on: ['5xx'], idempotent: true } });
  const cr = synth(ok.chart).find((o) => o.kind === 'CanaryRoute');
  expect(cr.spec.routes[0].retries).toEqual({ attempts: 1, on: ['5xx'], idempotent: true });
});

code('WEFT_ERR_RETRY_CYCLE', () => {
  const { chart, mesh } = fixture();
  const a = new MeshService(chart, 'a', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true });
  const b = new MeshService(chart, 'b', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, retries: { attempts: 1, on: ['connect-failure'] } });
  a.calls(b); b.calls(a);
  const err = expectCode(() => synth(chart), 'WEFT_ERR_RETRY_CYCLE');
  expect(err.message).toContain('shop/b → shop/a → shop/b');
});

code('WEFT_ERR_CALL_DENIED', () => {
  const { chart, mesh, reviews } = base();
  const web = new MeshService(chart, 'web', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls(reviews);
  const admin = new MeshService(chart, 'admin', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls(reviews);
  new MtlsPolicy(chart, 'reviews-callers', { mesh, service: reviews }).allow({ from: { services: [admin] } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_CALL_DENIED');
  expect(err.path).toBe(web.node.path);
  expect(err.message).toContain('shop/web → shop/reviews');
});

code('WEFT_ERR_CANARY_CALLS_UNPOLICED', () => {
  const { chart, mesh } = fixture();
  const ratings = new MeshService(chart, 'ratings', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP });
  const reviews = new MeshService(chart, 'reviews', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, versions: { v1: {}, v2: { calls: [ratings] } } });
  new MeshService(chart, 'web', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls(reviews);
  new CanaryRoute(chart, 'reviews-canary', { service: reviews, split: { v1: 90, v2: 10 } });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_CANARY_CALLS_UNPOLICED');
  expect(err.path).toBe('shop/reviews-canary');
});

test('a mesh with several mistakes reports all of them at once, each with code, construct path and fix', () => {
  // GIVEN three unrelated mistakes in three constructs
  const { chart, mesh, reviews } = base();
  reviews.calls({ serviceName: 'ghost', namespace: 'shop' });
  new CanaryRoute(chart, 'c', { service: reviews, port: 'grpc', split: { v1: 100 } });
  new MeshService(chart, 'noimage', { mesh, port: 80, protocol: Protocol.HTTP, ingress: true });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_MISSING_PROP');
  // THEN one error carries every problem, the first one's code on top
  expect(err.errors.map((e: any) => `${e.code} ${e.path}`).sort()).toEqual([
    'WEFT_ERR_MISSING_PROP shop/noimage', 'WEFT_ERR_UNKNOWN_PORT shop/c', 'WEFT_ERR_UNKNOWN_SERVICE shop/reviews',
  ]);
  expect(err.message).toMatch(/^3 problems in the mesh:\n {2}1\) WEFT_ERR_/);
  for (const e of err.errors) {
    expect(err.message).toContain(`${e.code} [${e.path}]`);
    expect(e.fix.length).toBeGreaterThan(0);
  }
  expect(err.stack).not.toMatch(/\n\s+at /);
});

test('a warning does not fail synth; it is recorded on the construct as weft:warning metadata', () => {
  const { chart, mesh } = fixture();
  const orphan = new MeshService(chart, 'orphan', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP });
  synth(chart);
  const meta = orphan.node.metadata.filter((m) => m.type === 'weft:warning').map((m) => (m.data as { code: string }).code);
  expect(meta).toEqual(['WEFT_WARN_UNREACHABLE']);
  expect(meshCheck(mesh).warnings.map((w) => `${w.code} ${w.path}`)).toEqual(['WEFT_WARN_UNREACHABLE shop/orphan']);
});

test('every warning code is produced by a check', () => {
  const { chart, mesh } = fixture();
  const orders = new MeshService(chart, 'orders', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, retries: { attempts: 1, on: ['5xx'] } });
  new MeshService(chart, 'web', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP }).calls(orders);
  expect(meshCheck(mesh).warnings.map((w) => w.code).sort()).toEqual(Object.keys(WARNING_CODES).sort());
});

/** A construct that emits a raw CanaryRoute, bypassing the typed API (what an escape hatch could do). */
function rawEmitter(scope: Construct, id: string, spec: unknown): Construct {
  const c = new Construct(scope, id) as Construct & { _weftResource(): unknown; _validateLocal(): void };
  c._weftResource = () => ({ apiVersion: 'weft.dev/v1alpha1', kind: 'CanaryRoute', metadata: { name: id, namespace: 'shop' }, spec });
  c._validateLocal = () => undefined;
  registerEmitter(c as never, 'CanaryRoute');
  return c;
}

code('WEFT_ERR_INVALID_OTLP_ENDPOINT', () => {
  const err = expectCode(() => fixture({ observability: { tracing: { otlpEndpoint: 'otel:4318' } } }), 'WEFT_ERR_INVALID_OTLP_ENDPOINT');
  expect(err.prop).toBe('observability.tracing.otlpEndpoint');
});

code('WEFT_ERR_INVALID_SAMPLE_RATE', () => {
  const { chart, mesh } = fixture();
  const err = expectCode(() => new MeshService(chart, 'r', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, observability: { tracing: { sampleRate: 1.5 } } }), 'WEFT_ERR_INVALID_SAMPLE_RATE');
  expect(err.value).toBe(1.5);
});

test('every code in VALIDATION_CODES has a test above', () => {
  expect([...tested].sort()).toEqual(Object.keys(VALIDATION_CODES).sort());
});

test('a problem in an escape-hatch resource is reported on the construct that emitted it', () => {
  const { chart, mesh } = fixture();
  new MeshService(chart, 'db', { mesh, image: IMG, port: 5432, protocol: Protocol.TCP });
  rawEmitter(chart, 'raw', { service: { name: 'db' }, port: 'tcp', routes: [{ timeout: '1s', backends: [{ version: 'v1', weight: 100 }] }] });
  const err = expectCode(() => synth(chart), 'WEFT_ERR_PROTOCOL_MISMATCH');
  expect(err.path).toBe('shop/raw');
});

test('a route ending in both backends and a redirect is rejected when added', () => {
  const { chart, reviews } = base();
  expectCode(() => new CanaryRoute(chart, 'c', { service: reviews }).addRoute({ backends: { v1: 100 }, redirect: { path: '/elsewhere' } }), 'WEFT_ERR_INVALID_PROP');
});

test('docs/constructs.md lists every code and warning', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const doc = require('fs').readFileSync(require('path').join(__dirname, '../../docs/constructs.md'), 'utf8') as string;
  for (const c of [...Object.keys(VALIDATION_CODES), ...Object.keys(WARNING_CODES)]) expect(doc).toContain(`| \`${c}\` |`);
});

test('at least 25 misconfiguration classes are rejected at synth', () => {
  expect(Object.keys(VALIDATION_CODES).length).toBeGreaterThanOrEqual(25);
});
