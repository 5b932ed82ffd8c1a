/** One test per validation code: each builds the smallest mesh that breaks one rule and asserts `.code`. */
import { Construct } from 'constructs';
import {
  CanaryRoute, Mesh, MeshService, MtlsMode, MtlsPolicy, PathMatch, Protocol, VALIDATION_CODES,
} from '../../constructs';
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

/** A construct that emits a raw CanaryRoute, bypassing the typed API (what an escape hatch could do). */
function rawEmitter(scope: Construct, id: string, spec: unknown): Construct {
  const c = new Construct(scope, id) as Construct & { _weftResource(): unknown; _validateLocal(): void };
  c._weftResource = () => ({ apiVersion: 'weft.dev/v1alpha1', kind: 'CanaryRoute', metadata: { name: id, namespace: 'shop' }, spec });
  c._validateLocal = () => undefined;
  registerEmitter(c as never);
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

test('docs/constructs.md lists every code', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const doc = require('fs').readFileSync(require('path').join(__dirname, '../../docs/constructs.md'), 'utf8') as string;
  for (const c of Object.keys(VALIDATION_CODES)) expect(doc).toContain(`| \`${c}\` |`);
});
