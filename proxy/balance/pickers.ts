/**
 * Endpoint pickers, one per LB policy. Each receives only available endpoints. P2C (power of two
 * choices) compares two random endpoints by cost: in-flight count (least-request) or peak-EWMA
 * latency × load (the default, as linkerd2-proxy). Ring hash lives in ring-hash.ts.
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

/** Power of two choices over `cost`. */
export function p2c(cost: (e: EndpointState) => number, random: () => number): Picker {
  return {
    pick(endpoints) {
      const [a, b] = twoChoices(endpoints.length, random);
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

/** Plain round robin over the available endpoints (the cursor survives set changes). */
export function roundRobinPicker(random: () => number): Picker {
  // Start at a random offset so a fleet of proxies doesn't hit the same endpoint first.
  let next = Math.floor(random() * 1_000_000);
  return {
    pick(endpoints) {
      const e = endpoints[next % endpoints.length];
      next = (next + 1) % 1_000_000_007;
      return e;
    },
  };
}
