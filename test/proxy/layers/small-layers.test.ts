/** Unit tests of the small layers with a fake `next`: fault, limits, rate limit, mirror, authz, observe. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import { parseXds } from '../../../proxy/config';
import type { ForwardAction, Route } from '../../../proxy/config';
import { requestHash } from '../../../proxy/layers/hash';
import { NoEndpointsError } from '../../../proxy/http/errors';
import { rescue } from '../../../proxy/http/respond';
import { authz } from '../../../proxy/layers/authz';
import { pickCluster, pickWeighted } from '../../../proxy/layers/cluster-pick';
import { fault } from '../../../proxy/layers/fault';
import { ConcurrencyLimiter, circuitBreaker } from '../../../proxy/layers/limits';
import { mirror } from '../../../proxy/layers/mirror';
import { observe } from '../../../proxy/layers/observe';
import { TokenBucket, rateLimit } from '../../../proxy/layers/rate-limit';
import { fact, setFact } from '../../../proxy/stack/meta';
import { compose } from '../../../proxy/stack/types';
import type { ProxyRequest } from '../../../proxy/stack/types';
import fc from 'fast-check';
import { FakeClock, TYPES, dur, fakeNext, makeRequest, readBody, seededRandom, textResponse } from '../../support/proxy-fixtures';
import { inBinomialBand } from '../../support/stats';

const parsedRoutes = new Map<string, Route>();

function routed(route: Record<string, unknown>, p: Parameters<typeof makeRequest>[0] = {}): ProxyRequest {
  const key = JSON.stringify(route);
  const r: Route = parsedRoutes.get(key) ?? parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'r', match: { prefix: '' }, route: { cluster: 'c' }, ...route }] }] }] }).routes.get('t')!.virtualHosts[0].routes[0];
  parsedRoutes.set(key, r);
  const req = makeRequest(p);
  setFact(req, 'weft.route', r);
  setFact(req, 'weft.routeName', r.name);
  return req;
}

const faultCfg = (f: Record<string, unknown>) => ({ typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': TYPES.FAULT, ...f } } });

test('GIVEN a 100 % abort fault THEN the configured status is answered with weft-error fault_abort (gRPC: grpc-status)', async () => {
  const next = fakeNext();
  const res = await fault(seededRandom())(next)(routed(faultCfg({ abort: { http_status: 503, percentage: { numerator: 100 } } })));
  expect(res.status).toBe(503);
  expect(res.headers['weft-error']).toBe('fault_abort route=r');
  expect(next.calls).toHaveLength(0);
  const g = await fault(seededRandom())(next)(routed(faultCfg({ abort: { grpc_status: 14, percentage: { numerator: 100 } } }), { grpc: true }));
  expect(g.headers['grpc-status']).toBe('14');
});

test('GIVEN a fault percentage THEN only that share of tries is affected', async () => {
  const random = seededRandom(7);
  const next = fakeNext();
  const h = fault(random)(next);
  let aborted = 0;
  for (let i = 0; i < 2000; i++) if ((await h(routed(faultCfg({ abort: { http_status: 500, percentage: { numerator: 25 } } })))).status === 500) aborted++;
  expect(aborted / 2000).toBeGreaterThan(0.21);
  expect(aborted / 2000).toBeLessThan(0.29);
});

test('GIVEN a delay fault THEN the try waits, and an abort of the request cuts the delay short', async () => {
  const ac = new AbortController();
  const p = fault(seededRandom())(fakeNext())(routed(faultCfg({ delay: { fixed_delay: dur(60_000), percentage: { numerator: 100 } } }), { signal: ac.signal }));
  ac.abort(new Error('gone'));
  await expect(p).rejects.toThrow('gone');
});

test('PROPERTY: weighted cluster picks converge to their weights', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 5 }), fc.integer(), (weights, seed) => {
    const items = weights.map((weight, i) => ({ name: `c${i}`, weight }));
    const total = weights.reduce((a, b) => a + b, 0);
    const random = seededRandom(seed);
    const n = 10_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const c = pickWeighted(items, total, random()).name;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    return items.every((it) => {
      const p = it.weight / total;
      return inBinomialBand(counts.get(it.name) ?? 0, n, p);
    });
  }), { numRuns: 20 });
});

test('GIVEN weighted clusters THEN pickCluster sets weft.cluster per try, and a mirror override wins', async () => {
  const next = fakeNext();
  const h = pickCluster(() => 0.95)(next);
  await h(routed({ route: { weighted_clusters: { clusters: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] } } }));
  expect(fact(next.calls[0], 'weft.cluster')).toBe('v2');
  const req = routed({});
  setFact(req, 'weft.clusterOverride', 'shadow');
  await h(req);
  expect(fact(next.calls[1], 'weft.cluster')).toBe('shadow');
});

test('GIVEN max_requests 1 and no queue THEN a second concurrent request is 503 circuit_open; the slot frees at body end', async () => {
  const limiter = new ConcurrencyLimiter('c', { maxRequests: 1, maxPendingRequests: 0, maxConnections: 100 }, 'http2');
  const next = fakeNext(() => textResponse(200, 'body'));
  const h = compose(rescue, circuitBreaker(() => limiter))(next);
  const first = await h(makeRequest());
  const second = await h(makeRequest());
  expect(second.status).toBe(503);
  expect(second.headers['weft-error']).toBe('circuit_open cluster=c limit=max_requests');
  await readBody(first);
  expect(limiter.active).toBe(0);
  expect((await h(makeRequest())).status).toBe(200);
});

test('GIVEN a full pending queue THEN 503 overflow; a queued request runs when a slot frees', async () => {
  const limiter = new ConcurrencyLimiter('c', { maxRequests: 1, maxPendingRequests: 1, maxConnections: 100 }, 'http2');
  const r1 = await limiter.acquire(new AbortController().signal);
  const queued = limiter.acquire(new AbortController().signal);
  await expect(limiter.acquire(new AbortController().signal)).rejects.toMatchObject({ code: 'WEFT_ERR_OVERFLOW' });
  expect(limiter.pending).toBe(1);
  r1();
  const r2 = await queued;
  expect(limiter.active).toBe(1);
  r2();
  expect(limiter.active).toBe(0);
});

test('GIVEN HTTP/1 and max_connections below max_requests THEN max_connections bounds concurrency', async () => {
  const limiter = new ConcurrencyLimiter('c', { maxRequests: 10, maxPendingRequests: 0, maxConnections: 1 }, 'http1');
  await limiter.acquire(new AbortController().signal);
  await expect(limiter.acquire(new AbortController().signal)).rejects.toMatchObject({ message: expect.stringContaining('max_connections') });
});

test('GIVEN a token bucket of 2 refilling 1 per 100 ms THEN the third request is 429 until the refill', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 100 }, clock.now);
  const h = compose(rescue, rateLimit(() => ({ bucket, scope: 'listener in' })))(fakeNext());
  expect((await h(makeRequest())).status).toBe(200);
  expect((await h(makeRequest())).status).toBe(200);
  const limited = await h(makeRequest());
  expect(limited.status).toBe(429);
  expect(limited.headers['weft-error']).toBe('rate_limited scope=listener_in');
  clock.advance(100);
  expect((await h(makeRequest())).status).toBe(200);
});

test('GIVEN a mirror policy THEN a shadow with the body goes to the mirror cluster and its failure never touches the main response', async () => {
  const shadows: { req: ProxyRequest; body: string }[] = [];
  let done!: () => void;
  const shadowed = new Promise<void>((r) => (done = r));
  const backend = async (req: ProxyRequest) => {
    shadows.push({ req, body: await readBody(req) });
    done();
    throw new Error('mirror target down');
  };
  const next = fakeNext(async (req) => textResponse(200, await readBody(req)));
  const req = routed({ route: { cluster: 'c', request_mirror_policies: [{ cluster: 'shadow' }] } }, { method: 'POST', body: 'payload' });
  const res = await mirror(backend, seededRandom())(next)(req);
  expect(await readBody(res)).toBe('payload');
  await shadowed;
  expect(shadows[0].body).toBe('payload');
  expect(shadows[0].req.authority).toBe('reviews-shadow');
  expect(fact(shadows[0].req, 'weft.clusterOverride')).toBe('shadow');
  expect(fact(req, 'weft.clusterOverride')).toBeUndefined();
});

test('GIVEN an evaluator that denies THEN 403 denied naming policy and rule; one that throws fails closed', async () => {
  const deny = compose(rescue, authz(() => ({ allowed: false, policy: 'default/reviews-policy', rule: 'deny-bots', action: 'DENY' }), () => undefined))(fakeNext());
  const res = await deny(makeRequest());
  expect(res.status).toBe(403);
  expect(res.headers['weft-error']).toBe('denied policy=default/reviews-policy rule=deny-bots');
  const g = await deny(makeRequest({ grpc: true }));
  expect(g.headers['grpc-status']).toBe('7');
  const broken = compose(rescue, authz(() => { throw new Error('bug'); }, () => undefined))(fakeNext());
  expect((await broken(makeRequest())).status).toBe(403);
  const allow = compose(rescue, authz(async () => ({ allowed: true }), () => undefined))(fakeNext());
  expect((await allow(makeRequest())).status).toBe(200);
});

test('GIVEN observe THEN golden metrics are labelled by direction, authority, route, status and reason, and diagnostics events fire', async () => {
  const reg = new Registry();
  const events: string[] = [];
  const on = (name: string) => (msg: unknown) => events.push(`${name}:${((msg as { request: ProxyRequest }).request).path}`);
  const handlers = { start: on('start'), end: on('end'), error: on('error') };
  subscribe('weft:proxy:request:start', handlers.start);
  subscribe('weft:proxy:request:end', handlers.end);
  subscribe('weft:proxy:request:error', handlers.error);
  try {
    const inner = fakeNext((req) => {
      setFact(req, 'weft.routeName', 'r');
      setFact(req, 'weft.vhost', 'reviews.default:9080');
      if (req.path === '/fail') throw new NoEndpointsError('c');
      return textResponse(200, 'ok');
    });
    const h = compose(rescue, observe('outbound', reg, new FakeClock().now))(inner);
    await readBody(await h(makeRequest({ path: '/ok' })));
    await readBody(await h(makeRequest({ path: '/fail' })));
  } finally {
    unsubscribe('weft:proxy:request:start', handlers.start);
    unsubscribe('weft:proxy:request:end', handlers.end);
    unsubscribe('weft:proxy:request:error', handlers.error);
  }
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === 'weft_proxy_requests_total')!;
  const rows = m.values.map((v) => `${v.labels.direction} ${v.labels.authority} ${v.labels.route} ${v.labels.status_code} ${v.labels.error}=${v.value}`);
  expect(rows.sort()).toEqual(['outbound reviews.default:9080 r 200 =1', 'outbound reviews.default:9080 r 503 no_endpoints=1']);
  expect(events).toEqual(['start:/ok', 'end:/ok', 'start:/fail', 'error:/fail']);
});

test('GIVEN a hash policy on a weighted route THEN each user sticks to one version, and canary users stay as the canary grows', async () => {
  const next = fakeNext();
  const h = pickCluster(seededRandom())(next);
  const split = (canary: number) => ({ route: { weighted_clusters: { clusters: [{ name: 'stable', weight: 100 - canary }, { name: 'canary', weight: canary }] }, hash_policy: [{ header: { header_name: 'x-user' } }] } });
  const versionOf = async (user: string, canary: number) => {
    const req = routed(split(canary), { headers: { 'x-user': user } });
    setFact(req, 'weft.hash', requestHash((fact(req, 'weft.route') as Route & { action: ForwardAction }).action.hashPolicy, req)!);
    await h(req);
    return fact(req, 'weft.cluster');
  };
  const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  const at10 = await Promise.all(users.map((u) => versionOf(u, 10)));
  expect(await Promise.all(users.map((u) => versionOf(u, 10)))).toEqual(at10); // sticky
  const share = at10.filter((v) => v === 'canary').length / users.length;
  expect(share).toBeGreaterThan(0.04);
  expect(share).toBeLessThan(0.18);
  const at30 = await Promise.all(users.map((u) => versionOf(u, 30)));
  users.forEach((_, i) => {
    if (at10[i] === 'canary') expect(at30[i]).toBe('canary');
  });
});
