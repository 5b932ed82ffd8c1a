import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Readable } from 'node:stream';
import { parseXds } from '../../../proxy/config';
import type { Route } from '../../../proxy/config';
import { ConnectFailureError, UpstreamResetError } from '../../../proxy/http/errors';
import { retry } from '../../../proxy/layers/retry';
import { RetryBudget } from '../../../proxy/layers/retry-budget';
import { fact, setFact } from '../../../proxy/stack/meta';
import type { ProxyRequest } from '../../../proxy/stack/types';
import { FakeClock, dur, fakeNext, makeRequest, readBody, seededRandom, textResponse } from '../../support/proxy-fixtures';

const parsedRoutes = new Map<string, Route>();

function routed(policy: Record<string, unknown>, p: Parameters<typeof makeRequest>[0] = {}): ProxyRequest {
  const key = JSON.stringify(policy);
  const r: Route = parsedRoutes.get(key) ?? parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'r', match: { prefix: '' }, route: { cluster: 'c', retry_policy: { retry_back_off: { base_interval: dur(1) }, ...policy } } }] }] }] }).routes.get('t')!.virtualHosts[0].routes[0];
  parsedRoutes.set(key, r);
  const req = makeRequest(p);
  setFact(req, 'weft.route', r);
  setFact(req, 'weft.routeName', r.name);
  return req;
}

async function metric(reg: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

const layer = (reg = new Registry(), clock = new FakeClock()) => retry({ now: clock.now, random: seededRandom(), metrics: reg });

test('GIVEN a 503 then a 200 and retry_on 5xx THEN the 200 is returned after one retry', async () => {
  const reg = new Registry();
  const next = fakeNext((_r, n) => textResponse(n === 1 ? 503 : 200, n === 1 ? 'bad' : 'good'));
  const req = routed({ retry_on: '5xx', num_retries: { value: 2 } });
  const res = await layer(reg)(next)(req);
  expect(res.status).toBe(200);
  expect(await readBody(res)).toBe('good');
  expect(next.calls).toHaveLength(2);
  expect(fact(req, 'weft.try')).toBe(2);
  expect(await metric(reg, 'weft_proxy_retries_total', { route: 'r', reason: '5xx' })).toBe(1);
});

test('GIVEN a request body THEN every try receives the whole body (replay)', async () => {
  const seen: string[] = [];
  const next = fakeNext(async (req, n) => {
    seen.push(await readBody(req));
    return textResponse(n < 3 ? 502 : 200);
  });
  const res = await layer()(next)(routed({ retry_on: 'gateway-error', num_retries: { value: 3 } }, { method: 'POST', body: Readable.from([Buffer.from('hel'), Buffer.from('lo')]) }));
  expect(res.status).toBe(200);
  expect(seen).toEqual(['hello', 'hello', 'hello']);
});

test('GIVEN a body larger than the 64 KiB replay cap THEN it is not retried', async () => {
  const reg = new Registry();
  const next = fakeNext(async (req) => {
    await readBody(req);
    return textResponse(503);
  });
  const big = Buffer.alloc(70 * 1024, 1);
  const res = await layer(reg)(next)(routed({ retry_on: '5xx', num_retries: { value: 3 } }, { method: 'POST', body: Readable.from([big.subarray(0, 40000), big.subarray(40000)]) }));
  expect(res.status).toBe(503);
  expect(next.calls).toHaveLength(1);
  expect(await metric(reg, 'weft_proxy_retries_skipped_total', { reason: 'body_too_large' })).toBe(1);
});

test('GIVEN connect failures THEN connect-failure retries them; a reset is not retried under connect-failure only', async () => {
  const cf = fakeNext((_r, n) => (n === 1 ? Promise.reject(new ConnectFailureError('e')) : textResponse(200)));
  expect((await layer()(cf)(routed({ retry_on: 'connect-failure' }))).status).toBe(200);
  const reset = fakeNext(() => Promise.reject(new UpstreamResetError('e')));
  await expect(layer()(reset)(routed({ retry_on: 'connect-failure', num_retries: { value: 3 } }))).rejects.toMatchObject({ code: 'WEFT_ERR_UPSTREAM_RESET' });
  expect(reset.calls).toHaveLength(1);
});

test('GIVEN a per-try timeout THEN the slow try is abandoned and the next one answers', async () => {
  const next = fakeNext((_r, n) => (n === 1 ? new Promise(() => undefined) : textResponse(200)));
  const res = await layer()(next)(routed({ retry_on: '5xx', per_try_timeout: dur(20) }));
  expect(res.status).toBe(200);
  expect(next.calls[0].signal.aborted).toBe(true);
});

test('GIVEN a trailers-only gRPC UNAVAILABLE THEN retry_on unavailable retries it', async () => {
  const next = fakeNext((_r, n) => ({ status: 200, headers: { 'grpc-status': n === 1 ? '14' : '0' }, body: null }));
  const res = await layer()(next)(routed({ retry_on: 'unavailable' }, { grpc: true }));
  expect(res.headers['grpc-status']).toBe('0');
  expect(next.calls).toHaveLength(2);
});

test('GIVEN retries exhausted THEN the last response is returned', async () => {
  const reg = new Registry();
  const next = fakeNext(() => textResponse(500));
  const res = await layer(reg)(next)(routed({ retry_on: '5xx', num_retries: { value: 2 } }));
  expect(res.status).toBe(500);
  expect(next.calls).toHaveLength(3);
  expect(await metric(reg, 'weft_proxy_retries_skipped_total', { reason: 'attempts_exhausted' })).toBe(1);
});

test('GIVEN a response that has started streaming THEN a later body failure is never retried', async () => {
  const next = fakeNext(() => ({ status: 200, headers: {}, body: new Readable({ read() { this.destroy(new Error('reset mid-body')); } }) }));
  const res = await layer()(next)(routed({ retry_on: '5xx,reset', num_retries: { value: 3 } }));
  await expect(readBody(res)).rejects.toThrow('reset mid-body');
  expect(next.calls).toHaveLength(1);
});

test('PROPERTY: the retry budget never allows more than ratio × requests + min/s × ttl retries in a window', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 300 }), withdraws: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 400 }),
    (events) => {
      const clock = new FakeClock(0);
      const cfg = { retryRatio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 };
      const b = new RetryBudget(cfg, clock.now);
      const log: { t: number; kind: 'req' | 'retry' }[] = [];
      for (const e of events) {
        clock.advance(e.gapMs);
        b.deposit();
        log.push({ t: clock.t, kind: 'req' });
        for (let i = 0; i < e.withdraws; i++) if (b.tryWithdraw()) log.push({ t: clock.t, kind: 'retry' });
      }
      // Any window of ttl (the budget's buckets may reach back at most one bucket further).
      for (const end of log.map((x) => x.t)) {
        const inWin = log.filter((x) => x.t > end - cfg.ttlMs - cfg.ttlMs / 10 && x.t <= end);
        const reqs = inWin.filter((x) => x.kind === 'req').length;
        const retries = inWin.filter((x) => x.kind === 'retry').length;
        if (retries > cfg.minRetriesPerSecond * (cfg.ttlMs / 1000) + cfg.retryRatio * reqs + 1e-9) return false;
      }
      return true;
    },
  ), { numRuns: 100 });
});

test('PROPERTY: through the layer, an always-failing upstream gets at most requests + budget tries', async () => {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 300 }), async (n) => {
    const clock = new FakeClock();
    const next = fakeNext(() => textResponse(503));
    const h = retry({ now: clock.now, random: () => 0, metrics: new Registry() })(next);
    for (let i = 0; i < n; i++) await h(routed({ retry_on: '5xx', num_retries: { value: 4 } }));
    const retries = next.calls.length - n;
    return retries <= 100 + 0.2 * n && retries <= 4 * n;
  }), { numRuns: 10 });
});

test('GIVEN a first try that read only part of the body THEN the retry still gets all of it', async () => {
  const { PassThrough } = await import('node:stream');
  const source = new PassThrough();
  const seen: string[] = [];
  const next = fakeNext(async (req, n) => {
    if (n === 1) {
      const first: Buffer = await new Promise((r) => req.body!.once('data', r));
      seen.push(first.toString());
      return textResponse(503);
    }
    seen.push(await readBody(req));
    return textResponse(200);
  });
  const p = layer()(next)(routed({ retry_on: '5xx' }, { method: 'POST', body: source }));
  source.write('part1-');
  setImmediate(() => source.end('part2'));
  expect((await p).status).toBe(200);
  expect(seen).toEqual(['part1-', 'part1-part2']);
});
