/**
 * Endpoint pickers, one per LB policy. Each receives only available endpoints. P2C (power of two
 * choices) compares two random endpoints by cost: in-flight count (least-request) or peak-EWMA
 * latency × load (the default, as linkerd2-proxy). Endpoint weights (EDS load_balancing_weight)
 * count in every picker: P2C draws its two candidates in proportion to weight, round robin is
 * smooth weighted round robin. Ring hash lives in ring-hash.ts.
 */
import type { EndpointState } from './endpoint';

/** Picks one of `endpoints` (non-empty) for a request with optional hash `hash`. */
export interface Picker {
  pick(endpoints: readonly EndpointState[], hash: number | undefined): EndpointState;
}

/** Two distinct random indexes (or the only one). */
function twoChoices(n: number, random: () => number): [number, number] {
  const a = Math.floor(random() * n) % n;
  if (n === 1) return [a, a];
  let b = Math.floor(random() * (n - 1)) % (n - 1);
  if (b >= a) b += 1;
  return [a, b];
}

/** Whether every endpoint has the same weight (the common case, with cheaper pickers). */
export function uniformWeights(endpoints: readonly EndpointState[]): boolean {
  const w = endpoints[0]?.config.weight;
  for (let i = 1; i < endpoints.length; i++) if (endpoints[i].config.weight !== w) return false;
  return true;
}

/** Index drawn with probability weight / total, skipping index `skip`. */
function weightedIndex(endpoints: readonly EndpointState[], total: number, random: () => number, skip = -1): number {
  let r = random() * total;
  let last = -1;
  for (let i = 0; i < endpoints.length; i++) {
    if (i === skip) continue;
    last = i;
    r -= endpoints[i].config.weight;
    if (r < 0) return i;
  }
  return last; // rounding at the top end
}

/**
 * Two distinct indexes drawn in proportion to weight, so that with equal costs (ties go to the
 * first) each endpoint's share of picks is its share of the total weight.
 */
function twoWeightedChoices(endpoints: readonly EndpointState[], random: () => number): [number, number] {
  const total = endpoints.reduce((s, e) => s + e.config.weight, 0);
  const a = weightedIndex(endpoints, total, random);
  if (endpoints.length === 1) return [a, a];
  return [a, weightedIndex(endpoints, total - endpoints[a].config.weight, random, a)];
}

/** Power of two choices over `cost`; candidates are drawn by weight when weights differ. */
export function p2c(cost: (e: EndpointState) => number, random: () => number): Picker {
  return {
    pick(endpoints) {
      const [a, b] = uniformWeights(endpoints) ? twoChoices(endpoints.length, random) : twoWeightedChoices(endpoints, random);
      const ea = endpoints[a];
      const eb = endpoints[b];
      return cost(eb) < cost(ea) ? eb : ea;
    },
  };
}

/** P2C over peak-EWMA cost (latency estimate × (in-flight + 1)). */
export function peakEwmaPicker(random: () => number): Picker {
  return p2c((e) => e.ewma.cost(e.inFlight), random);
}

/** P2C over in-flight requests (Envoy LEAST_REQUEST, choice_count 2). */
export function leastRequestPicker(random: () => number): Picker {
  return p2c((e) => e.inFlight, random);
}

/**
 * Round robin over the available endpoints (the cursor survives set changes). With unequal weights
 * it is smooth weighted round robin (nginx): every pick adds each endpoint's weight to its credit,
 * takes the endpoint with the most credit and charges it the total, so an endpoint of weight w gets
 * exactly w picks in every W (= sum of weights), interleaved rather than in bursts.
 */
export function roundRobinPicker(random: () => number): Picker {
  // Start at a random offset so a fleet of proxies doesn't hit the same endpoint first.
  let next = Math.floor(random() * 1_000_000);
  const credit = new WeakMap<EndpointState, number>();
  return {
    pick(endpoints) {
      if (uniformWeights(endpoints)) {
        const e = endpoints[next % endpoints.length];
        next = (next + 1) % 1_000_000_007;
        return e;
      }
      let total = 0;
      let best = endpoints[0];
      let bestCredit = -Infinity;
      for (const e of endpoints) {
        const w = e.config.weight;
        // a new endpoint starts with a random part of its weight (the fleet-offset idea again)
        const c = (credit.get(e) ?? random() * w) + w;
        credit.set(e, c);
        total += w;
        if (c > bestCredit) {
          best = e;
          bestCredit = c;
        }
      }
      credit.set(best, bestCredit - total);
      return best;
    },
  };
}
