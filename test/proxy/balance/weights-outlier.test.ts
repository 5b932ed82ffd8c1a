/**
 * Endpoint weights in round robin and P2C (EDS load_balancing_weight), and gRFC A50
 * failure-percentage ejection: unit tests with fake clocks and seeded randomness.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Backends } from '../../../proxy/balance/backends';
import { EndpointState } from '../../../proxy/balance/endpoint';
import { OutlierDetector } from '../../../proxy/balance/outlier';
import { leastRequestPicker, peakEwmaPicker, roundRobinPicker } from '../../../proxy/balance/pickers';
import { ConfigCell, parseXds } from '../../../proxy/config';
import type { EndpointConfig, OutlierDetectionConfig } from '../../../proxy/config';
import { FakeClock, cluster, seededRandom, textResponse } from '../../support/proxy-fixtures';
import { expectBinomial } from '../../support/stats';

const ep = (i: number, weight = 1): EndpointState =>
  new EndpointState(`10.0.0.${i}:80`, { address: `10.0.0.${i}`, port: 80, weight, healthy: true, meshed: true } as EndpointConfig, async () => textResponse(200), `k${i}`, 10_000, 0);

/** Every endpoint's count is inside the exact binomial band (false-failure rate ≤ 1e-6). */
function expectShares(counts: Map<string, number>, eps: readonly EndpointState[], n: number): void {
  const total = eps.reduce((s, e) => s + e.config.weight, 0);
  for (const e of eps) {
    const p = e.config.weight / total;
    expectBinomial(`picks of ${e.key} (weight ${e.config.weight}/${total})`, counts.get(e.key) ?? 0, n, p);
  }
}

function countPicks(pick: () => EndpointState, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = pick().key;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

describe('endpoint weights', () => {
  test('GIVEN any weights THEN weighted round robin gives each endpoint exactly its weight in every round of W picks (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 0, max: 1000 }), (weights, seed) => {
      const eps = weights.map((w, i) => ep(i + 1, w));
      const p = roundRobinPicker(seededRandom(seed));
      const W = weights.reduce((a, b) => a + b, 0);
      p.pick(eps, undefined); // any starting point: count whole rounds after a warm-up pick
      const counts = countPicks(() => p.pick(eps, undefined), 2 * W);
      eps.forEach((e) => expect(counts.get(e.key) ?? 0).toBe(2 * e.config.weight));
    }), { numRuns: 50 });
  });

  test('GIVEN weights 1:3 THEN round robin interleaves rather than sending bursts', () => {
    const eps = [ep(1, 1), ep(2, 3)];
    const p = roundRobinPicker(() => 0);
    const seq = Array.from({ length: 8 }, () => p.pick(eps, undefined).key === eps[0].key ? 'a' : 'b').join('');
    expect(seq).not.toContain('aa');
    expect(seq.split('a').length - 1).toBe(2);
  });

  test.each([
    ['peak-EWMA', peakEwmaPicker],
    ['least-request', leastRequestPicker],
  ])('GIVEN weights 1:2:5 and equal load THEN %s P2C converges to the weights (exact binomial band, 4000 picks)', (_name, make) => {
    const eps = [ep(1, 1), ep(2, 2), ep(3, 5)];
    const p = make(seededRandom(7));
    const n = 4000;
    expectShares(countPicks(() => p.pick(eps, undefined), n), eps, n);
  });

  test('GIVEN weights AND load THEN P2C still prefers the less loaded of its two candidates', () => {
    const eps = [ep(1, 1), ep(2, 5)];
    eps[1].inFlight = 50;
    const p = leastRequestPicker(seededRandom(3));
    for (let i = 0; i < 50; i++) expect(p.pick(eps, undefined)).toBe(eps[0]);
  });

  test.each(['ROUND_ROBIN', 'LEAST_REQUEST', undefined])('GIVEN EDS load_balancing_weight 1:4 and lb_policy %s THEN the cluster balancer honours the weights (exact binomial band)', (lb) => {
    const lbEndpoint = (port: number, weight: number) => ({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } }, load_balancing_weight: { value: weight } });
    const config = parseXds({
      clusters: [cluster('c', lb ? { lb_policy: lb } : {})],
      endpoints: [{ cluster_name: 'c', endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [lbEndpoint(81, 1), lbEndpoint(82, 4)] }] }],
    });
    const backends = new Backends(new ConfigCell(config), { endpointClient: () => async () => textResponse(200), metrics: new Registry(), now: () => 0, random: seededRandom(11) });
    const b = backends.get('c')!;
    expect(b.endpoints.map((e) => e.config.weight)).toEqual([1, 4]);
    const n = 2000;
    expectShares(countPicks(() => b.pick(undefined)!, n), b.endpoints, n);
    backends.close();
  });
});

describe('failure-percentage ejection (gRFC A50)', () => {
  const od = (fp: Partial<NonNullable<OutlierDetectionConfig['failurePercentage']>> = {}): OutlierDetectionConfig => ({
    intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100,
    failurePercentage: { threshold: 50, minimumHosts: 3, requestVolume: 20, enforcingPercent: 100, ...fp },
  });
  const run = (config: OutlierDetectionConfig, failPct: number[], calls = 40, random: () => number = () => 0) => {
    const clock = new FakeClock(0);
    const reasons: string[] = [];
    const d = new OutlierDetector(config, clock.now, random, { onEject: (e, r) => reasons.push(`${e.key}:${r}`), onUneject: () => undefined });
    const eps = failPct.map((_, i) => ep(i + 1));
    eps.forEach((e, i) => {
      for (let k = 0; k < calls; k++) d.record(e, k < (calls * failPct[i]) / 100 ? 'gateway' : 'success', eps);
    });
    clock.advance(1000);
    d.tick(eps);
    return { available: eps.map((e) => e.available), reasons };
  };

  test('GIVEN an endpoint failing more than the threshold THEN it is ejected at the interval, with reason failure_percentage', () => {
    expect(run(od(), [0, 10, 60, 50])).toEqual({ available: [true, true, false, true], reasons: ['10.0.0.3:80:failure_percentage'] });
  });

  test('GIVEN fewer hosts with the request volume than minimumHosts THEN nothing is ejected', () => {
    expect(run(od({ minimumHosts: 5 }), [0, 0, 90, 0]).available).toEqual([true, true, true, true]);
    expect(run(od({ requestVolume: 41 }), [0, 0, 90, 0]).available).toEqual([true, true, true, true]);
  });

  test('GIVEN enforcing percent THEN ejection happens only when the random draw is below it', () => {
    expect(run(od({ enforcingPercent: 30 }), [0, 0, 90], 40, () => 0.5).available).toEqual([true, true, true]);
    expect(run(od({ enforcingPercent: 30 }), [0, 0, 90], 40, () => 0.2).available).toEqual([true, true, false]);
  });

  test('GIVEN max_ejection_percent THEN failure-percentage ejection respects it', () => {
    expect(run({ ...od(), maxEjectionPercent: 25 }, [90, 90, 90, 0]).available.filter((a) => !a)).toHaveLength(1);
  });

  test('GIVEN Envoy outlier_detection fields THEN failure percentage is parsed, and off unless enforcing_failure_percentage > 0', () => {
    const parse = (od: Record<string, unknown>) => parseXds({ clusters: [cluster('c', { outlier_detection: od })] }).clusters.get('c')!.outlierDetection!;
    expect(parse({}).failurePercentage).toBeUndefined();
    expect(parse({ enforcing_failure_percentage: { value: 100 } }).failurePercentage).toEqual({ threshold: 85, minimumHosts: 5, requestVolume: 50, enforcingPercent: 100 });
    expect(parse({ enforcing_failure_percentage: { value: 50 }, failure_percentage_threshold: { value: 20 }, failure_percentage_minimum_hosts: { value: 2 }, failure_percentage_request_volume: { value: 10 } }).failurePercentage)
      .toEqual({ threshold: 20, minimumHosts: 2, requestVolume: 10, enforcingPercent: 50 });
    expect(() => parseXds({ clusters: [cluster('c', { outlier_detection: { enforcing_failure_percentage: { value: 100 }, failure_percentage_threshold: { value: 101 } } })] })).toThrow();
  });
});

describe('outlier detection minimum_hosts / request_volume 0 (Envoy, gRFC A50 allow it)', () => {
  const parse = (od: Record<string, unknown>) => parseXds({ clusters: [cluster('c', { outlier_detection: od })] }).clusters.get('c')!.outlierDetection!;

  test('GIVEN the four fields at 0 THEN the cluster is accepted and keeps the 0s', () => {
    const od = parse({
      enforcing_failure_percentage: { value: 100 }, failure_percentage_minimum_hosts: { value: 0 }, failure_percentage_request_volume: { value: 0 },
      success_rate_minimum_hosts: { value: 0 }, success_rate_request_volume: { value: 0 },
    });
    expect(od.failurePercentage).toMatchObject({ minimumHosts: 0, requestVolume: 0 });
    expect(od.successRate).toMatchObject({ minimumHosts: 0, requestVolume: 0 });
    expect(() => parse({ success_rate_request_volume: { value: -1 } })).toThrow();
  });

  const base: OutlierDetectionConfig = { intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100 };
  /** `calls[i]` = [successes, failures] of endpoint i in one interval; returns availability after the sweep. */
  const sweep = (config: OutlierDetectionConfig, calls: Array<[number, number]>) => {
    const clock = new FakeClock(0);
    const d = new OutlierDetector(config, clock.now, () => 0, { onEject: () => undefined, onUneject: () => undefined });
    const eps = calls.map((_, i) => ep(i + 1));
    calls.forEach(([ok, bad], i) => {
      for (let k = 0; k < ok; k++) d.record(eps[i], 'success', eps);
      for (let k = 0; k < bad; k++) d.record(eps[i], 'gateway', eps);
    });
    clock.advance(1000);
    d.tick(eps);
    return eps.map((e) => e.available);
  };

  test('GIVEN failure percentage with minimum_hosts 0 and request_volume 0 THEN one failing call is enough to judge a host; an idle host is never judged', () => {
    const fp = { threshold: 50, minimumHosts: 0, requestVolume: 0, enforcingPercent: 100 };
    expect(sweep({ ...base, failurePercentage: fp }, [[0, 1], [0, 0]])).toEqual([false, true]);
    expect(sweep({ ...base, failurePercentage: fp }, [[0, 0], [0, 0]])).toEqual([true, true]);
  });

  test('GIVEN success rate with request_volume 0 THEN an idle host (no rate: 0/0) neither blocks the statistics nor is ejected', () => {
    const sr = { minimumHosts: 0, requestVolume: 0, stdevFactor: 1, enforcingPercent: 100 };
    // four hosts all successful, one at 50 %, one idle: the 50 % host is below mean − stdev
    expect(sweep({ ...base, successRate: sr }, [[10, 0], [10, 0], [10, 0], [10, 0], [5, 5], [0, 0]])).toEqual([true, true, true, true, false, true]);
  });
});
