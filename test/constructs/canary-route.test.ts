/** CanaryRoute: shorthand and general routes, order, steps, and the CanaryRoute resource. */
import { resourceProblems } from '../../api/crds';
import { CanaryRoute, HeaderMatch, MeshService, PathMatch, Protocol } from '../../constructs';
import { expectCode, find, fixture, synth } from './support';

function setup() {
  const f = fixture();
  const reviews = new MeshService(f.chart, 'reviews', {
    mesh: f.mesh, image: 'r:1', port: 9080, protocol: Protocol.HTTP, versions: { v1: {}, v2: {} },
    retries: { attempts: 1, on: ['5xx'], perTryTimeout: '500ms' }, timeout: '2s',
  });
  return { ...f, reviews };
}

test('the issue\'s shorthand: header match to v2 first, then the 90/10 split (snapshot)', () => {
  const { chart, reviews } = setup();
  new CanaryRoute(chart, 'reviews-canary', { service: reviews, split: { v1: 90, v2: 10 }, match: [{ headers: { 'x-canary': 'always' }, to: 'v2' }] });
  const cr = find(synth(chart), 'CanaryRoute', 'reviews-canary');
  expect(resourceProblems(cr)).toEqual([]);
  expect(cr.spec.service).toEqual({ name: 'reviews', namespace: 'shop' });
  expect(cr.spec.routes).toEqual([
    { name: 'match-0', match: [{ headers: [{ name: 'x-canary', exact: 'always' }] }], backends: [{ version: 'v2', weight: 100 }] },
    { name: 'split', backends: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] },
  ]);
  expect(cr).toMatchSnapshot();
});

test('addRoute() after construction lands between the matches and the split; all match kinds render', () => {
  const { chart, reviews } = setup();
  const route = new CanaryRoute(chart, 'r', { service: reviews, split: { v1: 100 }, match: [{ method: 'PUT', to: 'v1' }] });
  route.addRoute({
    name: 'beta',
    match: [
      { path: PathMatch.regex('^/beta/.*'), query: { tester: HeaderMatch.present() } },
      { path: PathMatch.exact('/try'), headers: { 'X-Beta': HeaderMatch.regex('^1|yes$'), 'x-legacy': HeaderMatch.absent() } },
    ],
    backends: { v1: 50, v2: 50 },
    timeout: '1s', retries: { attempts: 1, on: ['reset'], perTryTimeout: '400ms' },
    requestHeaders: { set: { 'x-route': 'beta' }, remove: ['x-debug'] },
    responseHeaders: { add: { 'x-served-by': 'beta' } },
    mirror: { version: 'v2', percent: 5 },
  });
  route.addRoute({ name: 'old', match: [{ path: PathMatch.prefix('/old') }], redirect: { path: '/new', status: 301 } });
  const cr = find(synth(chart), 'CanaryRoute', 'r');
  expect(resourceProblems(cr)).toEqual([]);
  expect(cr.spec.routes.map((r: any) => r.name)).toEqual(['match-0', 'beta', 'old', 'split']);
  const beta = cr.spec.routes[1];
  expect(beta.match).toEqual([
    { path: { regex: '^/beta/.*' }, query: [{ name: 'tester', present: true }] },
    { path: { exact: '/try' }, headers: [{ name: 'x-beta', regex: '^1|yes$' }, { name: 'x-legacy', present: true, invert: true }] },
  ]);
  expect(beta).toMatchObject({ timeout: '1s', mirror: { version: 'v2', percent: 5 }, requestHeaders: { set: { 'x-route': 'beta' }, remove: ['x-debug'] } });
  expect(cr.spec.routes[2].redirect).toEqual({ path: '/new', status: 301 });
});

test('steps are emitted in order and addStep() keeps them moving forward', () => {
  const { chart, reviews } = setup();
  const route = new CanaryRoute(chart, 'r', { service: reviews, split: { v1: 90, v2: 10 }, steps: [{ weight: 10, pause: '5m' }] });
  route.addStep({ weight: 50, minSuccessRate: 99, maxP99: '300ms' }).addStep({ weight: 100 });
  expect(find(synth(chart), 'CanaryRoute', 'r').spec.steps).toEqual([{ weight: 10, pause: '5m' }, { weight: 50, minSuccessRate: 99, maxP99: '300ms' }, { weight: 100 }]);
  expectCode(() => route.addStep({ weight: 20 }), 'WEFT_ERR_INVALID_STEP');
});

test('port scopes the routes to one port name', () => {
  const { chart, reviews } = setup();
  reviews.addPort({ port: 9090, protocol: Protocol.GRPC });
  new CanaryRoute(chart, 'r', { service: reviews, port: 'grpc', split: { v2: 100 } });
  expect(find(synth(chart), 'CanaryRoute', 'r').spec.port).toBe('grpc');
});

test('the per-route retry budget falls back to the service timeout', () => {
  const { chart, reviews } = setup();
  // 3 × (1+1) = 6s of tries against the service's 2s timeout.
  expectCode(() => new CanaryRoute(chart, 'r', { service: reviews, split: { v1: 100 }, retries: { attempts: 1, on: ['5xx'], perTryTimeout: '3s' } }), 'WEFT_ERR_RETRY_EXCEEDS_TIMEOUT');
});

test('argument checks: method case, path shape, duplicate route names, empty route', () => {
  const { chart, reviews } = setup();
  const route = new CanaryRoute(chart, 'r', { service: reviews, split: { v1: 100 } });
  expectCode(() => route.addRoute({ match: [{ method: 'get' }], backends: { v1: 100 } }), 'WEFT_ERR_INVALID_PROP');
  expectCode(() => route.addRoute({ match: [{ path: PathMatch.prefix('api') }], backends: { v1: 100 } }), 'WEFT_ERR_INVALID_PROP');
  expectCode(() => route.addRoute({ name: 'split', backends: { v1: 100 } }), 'WEFT_ERR_DUPLICATE_NAME');
  expectCode(() => route.addRoute({ name: 'nothing' }), 'WEFT_ERR_MISSING_PROP');
});

test('a CanaryRoute without routes fails synth', () => {
  const { chart, reviews } = setup();
  new CanaryRoute(chart, 'r', { service: reviews });
  expectCode(() => synth(chart), 'WEFT_ERR_MISSING_PROP');
});

test('a catch-all added before a more specific route shadows it', () => {
  const { chart, reviews } = setup();
  new CanaryRoute(chart, 'r', { service: reviews })
    .addRoute({ name: 'all', backends: { v1: 100 } })
    .addRoute({ name: 'beta', match: [{ headers: { 'x-beta': '1' } }], backends: { v2: 100 } });
  expectCode(() => synth(chart), 'WEFT_ERR_SHADOWED_MATCH');
});

test('fault injection renders and is checked; header regexes must compile', () => {
  const { chart, reviews } = setup();
  const route = new CanaryRoute(chart, 'r', { service: reviews, split: { v1: 100 } });
  route.addRoute({ name: 'chaos', match: [{ headers: { 'x-chaos': '1' } }], backends: { v1: 100 }, fault: { delay: { fixed: '100ms', percent: 12.5 }, abort: { httpStatus: 503, percent: 1 } } });
  const cr = find(synth(chart), 'CanaryRoute', 'r');
  expect(resourceProblems(cr)).toEqual([]);
  expect(cr.spec.routes[0].fault).toEqual({ delay: { fixed: '100ms', percent: 12.5 }, abort: { httpStatus: 503, percent: 1 } });
  expectCode(() => route.addRoute({ backends: { v1: 100 }, fault: { abort: { httpStatus: 503, grpcStatus: 14, percent: 1 } } }), 'WEFT_ERR_INVALID_PROP');
  expectCode(() => route.addRoute({ match: [{ headers: { 'x-a': HeaderMatch.regex('(') } }], backends: { v1: 100 } }), 'WEFT_ERR_INVALID_PROP');
});
