import { Registry } from 'prom-client';
import { Backends } from '../../../proxy/balance/backends';
import { balance } from '../../../proxy/balance/balance';
import { EndpointState } from '../../../proxy/balance/endpoint';
import { PeakEwma } from '../../../proxy/balance/ewma';
import { murmur3 } from '../../../proxy/balance/hash';
import { OutlierDetector } from '../../../proxy/balance/outlier';
import { leastRequestPicker, peakEwmaPicker, roundRobinPicker } from '../../../proxy/balance/pickers';
import { ringHashPicker } from '../../../proxy/balance/ring-hash';
import { ConfigCell, parseXds } from '../../../proxy/config';
import type { EndpointConfig, OutlierDetectionConfig } from '../../../proxy/config';
import { ConnectFailureError } from '../../../proxy/http/errors';
import { setFact } from '../../../proxy/stack/meta';
import type { Handler } from '../../../proxy/stack/types';
import { FakeClock, cla, cluster, makeRequest, seededRandom, textResponse } from '../../support/proxy-fixtures';

const ep = (i: number, weight = 1): EndpointState =>
  new EndpointState(`10.0.0.${i}:80`, { address: `10.0.0.${i}`, port: 80, weight, healthy: true, meshed: true } as EndpointConfig, async () => textResponse(200), `k${i}`, 10_000, 0);

test('GIVEN peak-EWMA THEN a slow RTT replaces the estimate at once and fast ones decay it back', () => {
  const e = new PeakEwma(10_000, 0);
  expect(e.estimate).toBe(30);
  e.observe(500, 0);
  expect(e.estimate).toBe(500);
  e.observe(10, 10_000); // one decay period: weight e^-1
  expect(e.estimate).toBeCloseTo(500 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 5);
  expect(e.cost(3)).toBeCloseTo(e.estimate * 4);
});

test('GIVEN one slow endpoint among fast ones THEN P2C peak-EWMA almost never picks it', () => {
  const eps = [ep(1), ep(2), ep(3), ep(4)];
  eps[0].ewma.observe(1000, 0);
  for (const e of eps.slice(1)) e.ewma.observe(5, 0);
  const p = peakEwmaPicker(seededRandom(1));
  const counts = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const k = p.pick(eps, undefined).key;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  // P2C picks the slow one only when both choices are it, which two distinct choices never do.
  expect(counts.get(eps[0].key) ?? 0).toBe(0);
});

test('GIVEN least-request THEN the endpoint with fewer in-flight requests wins the pair', () => {
  const eps = [ep(1), ep(2)];
  eps[0].inFlight = 5;
  const p = leastRequestPicker(seededRandom(3));
  for (let i = 0; i < 50; i++) expect(p.pick(eps, undefined)).toBe(eps[1]);
});

test('GIVEN round robin THEN picks cycle evenly', () => {
  const eps = [ep(1), ep(2), ep(3)];
  const p = roundRobinPicker(() => 0);
  expect([0, 1, 2, 3, 4, 5].map(() => p.pick(eps, undefined).key)).toEqual([eps[0], eps[1], eps[2], eps[0], eps[1], eps[2]].map((e) => e.key));
});

test('GIVEN ring hash THEN a key sticks to one endpoint, and removing another endpoint moves only its keys', () => {
  let gen = 0;
  let all = [ep(1), ep(2), ep(3), ep(4)];
  const p = ringHashPicker(1024, seededRandom(), () => ({ generation: gen, endpoints: all }));
  const keys = Array.from({ length: 500 }, (_, i) => murmur3(`user-${i}`));
  const before = keys.map((h) => p.pick(all, h).key);
  expect(keys.map((h) => p.pick(all, h).key)).toEqual(before);
  expect(new Set(before).size).toBe(4);
  all = all.filter((e) => e.key !== '10.0.0.4:80');
  gen++;
  const after = keys.map((h) => p.pick(all, h).key);
  keys.forEach((_, i) => {
    if (before[i] !== '10.0.0.4:80') expect(after[i]).toBe(before[i]);
  });
});

const od = (p: Partial<OutlierDetectionConfig> = {}): OutlierDetectionConfig => ({ intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 50, consecutive5xx: 3, ...p });

test('GIVEN consecutive 5xx THEN the endpoint is ejected, returns after base × count, and the multiplier grows on re-ejection (A50)', () => {
  const clock = new FakeClock(0);
  const ejected: string[] = [];
  const d = new OutlierDetector(od(), clock.now, seededRandom(), { onEject: (e, r) => ejected.push(`${e.key}:${r}`), onUneject: (e) => ejected.push(`${e.key}:back`) });
  const eps = [ep(1), ep(2), ep(3), ep(4)];
  for (let i = 0; i < 3; i++) d.record(eps[0], '5xx', eps);
  expect(ejected).toEqual(['10.0.0.1:80:consecutive_5xx']);
  expect(eps[0].available).toBe(false);
  clock.advance(1000);
  d.tick(eps);
  expect(eps[0].available).toBe(true); // base 1 s × 1
  for (let i = 0; i < 3; i++) d.record(eps[0], 'gateway', eps);
  expect(eps[0].outlier.multiplier).toBe(2);
  clock.advance(1000);
  d.tick(eps);
  expect(eps[0].available).toBe(false); // now 2 s
  clock.advance(1000);
  d.tick(eps);
  expect(eps[0].available).toBe(true);
});

test('GIVEN max_ejection_percent THEN no more than that share is ejected (but at least one host can be)', () => {
  const d = new OutlierDetector(od({ maxEjectionPercent: 30 }), () => 0, seededRandom(), { onEject: () => undefined, onUneject: () => undefined });
  const eps = [ep(1), ep(2), ep(3), ep(4)];
  for (const e of eps) for (let i = 0; i < 3; i++) d.record(e, '5xx', eps);
  expect(eps.filter((e) => !e.available)).toHaveLength(1);
});

test('GIVEN success-rate ejection THEN the outlier below mean − stdev factor × stdev is ejected at the interval', () => {
  const clock = new FakeClock(0);
  const d = new OutlierDetector(od({ consecutive5xx: undefined, successRate: { minimumHosts: 5, requestVolume: 10, stdevFactor: 1.9, enforcingPercent: 100 } }), clock.now, () => 0, { onEject: () => undefined, onUneject: () => undefined });
  const eps = [1, 2, 3, 4, 5, 6].map((i) => ep(i));
  for (const e of eps) for (let i = 0; i < 50; i++) d.record(e, e === eps[5] && i % 2 === 0 ? '5xx' : 'success', eps);
  clock.advance(1000);
  d.tick(eps);
  expect(eps.map((e) => e.available)).toEqual([true, true, true, true, true, false]);
});

function config(addresses: string[], extra: Record<string, unknown> = {}) {
  return parseXds({ clusters: [cluster('c', extra)], endpoints: [cla('c', addresses)] });
}

test('GIVEN a config update that keeps an endpoint THEN its balancer state (EWMA, ejection) survives and removed clients are released', async () => {
  const clock = new FakeClock();
  const made: string[] = [];
  const closed: string[] = [];
  const factory = (t: { address: string; port: number }): Handler => Object.assign(async () => textResponse(200), { close: () => closed.push(`${t.address}:${t.port}`) }) as Handler;
  const cell = new ConfigCell(config(['10.0.0.1:80', '10.0.0.2:80']));
  const backends = new Backends(cell, { endpointClient: (t) => (made.push(`${t.address}:${t.port}`), factory(t)), metrics: new Registry(), now: clock.now, random: seededRandom() });
  const state = backends.get('c')!.endpoints.find((e) => e.key === '10.0.0.1:80')!;
  state.ewma.observe(777, clock.now());
  cell.set(config(['10.0.0.1:80', '10.0.0.3:80']));
  const after = backends.get('c')!.endpoints;
  expect(after.find((e) => e.key === '10.0.0.1:80')).toBe(state);
  expect(state.ewma.estimate).toBe(777);
  expect(made).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  expect(closed).toEqual(['10.0.0.2:80']);
  cell.set(parseXds({}));
  expect(backends.get('c')).toBeUndefined();
  expect(closed.sort()).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  backends.close();
});

test('GIVEN no endpoints, or an unknown cluster THEN balance fails fast (503 no_endpoints / cluster_not_found)', async () => {
  const cell = new ConfigCell(config([]));
  const backends = new Backends(cell, { endpointClient: () => async () => textResponse(200), metrics: new Registry(), now: () => 0, random: seededRandom() });
  const h = balance(backends, () => 0);
  const req = makeRequest();
  setFact(req, 'weft.cluster', 'c');
  await expect(h(req)).rejects.toMatchObject({ code: 'WEFT_ERR_NO_ENDPOINTS' });
  setFact(req, 'weft.cluster', 'nope');
  await expect(h(req)).rejects.toMatchObject({ code: 'WEFT_ERR_CLUSTER_NOT_FOUND' });
  backends.close();
});

test('GIVEN an endpoint that refuses connections THEN outlier detection ejects it and traffic moves to the healthy one', async () => {
  const clock = new FakeClock();
  const cell = new ConfigCell(config(['10.0.0.1:80', '10.0.0.2:80'], { lb_policy: 'ROUND_ROBIN', outlier_detection: { consecutive_5xx: { value: 2 }, max_ejection_percent: { value: 50 } } }));
  const reg = new Registry();
  const backends = new Backends(cell, {
    endpointClient: (t) => async () => {
      if (t.address === '10.0.0.1') throw new ConnectFailureError(`${t.address}:${t.port}`);
      return textResponse(200);
    },
    metrics: reg,
    now: clock.now,
    random: () => 0,
  });
  const h = balance(backends, clock.now);
  const outcomes: string[] = [];
  for (let i = 0; i < 10; i++) {
    const req = makeRequest();
    setFact(req, 'weft.cluster', 'c');
    outcomes.push(await h(req).then((r) => String(r.status), (e) => e.reason));
  }
  expect(outcomes.filter((o) => o === 'connect_failure')).toHaveLength(2);
  expect(outcomes.slice(4)).toEqual(['200', '200', '200', '200', '200', '200']);
  const ejections = (await reg.getMetricsAsJSON()).find((m) => m.name === 'weft_proxy_outlier_ejections_total')!;
  expect(ejections.values[0]).toMatchObject({ value: 1, labels: { cluster: 'c', reason: 'consecutive_5xx' } });
  backends.close();
});
