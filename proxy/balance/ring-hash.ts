/**
 * Consistent hashing on a ring (Envoy RING_HASH): each endpoint owns ring points in proportion to
 * its weight; a request goes to the first point at or after its hash. Adding or removing one
 * endpoint moves only its share of keys, which keeps sticky canaries sticky.
 */
import type { EndpointState } from './endpoint';
import { murmur3 } from './hash';
import type { Picker } from './pickers';

interface Ring {
  readonly hashes: Uint32Array;
  readonly owners: string[];
}

/** Upper bound on ring points, so huge weights cannot make a ring of millions. */
const MAX_POINTS = 1 << 20;

/**
 * Each endpoint gets `weight × size/8` points (128 per unit of weight by default), independent of
 * the other endpoints: removing one endpoint then moves only the keys it owned. (Envoy instead
 * scales the ring to the host count, which moves some keys between surviving hosts.)
 */
function buildRing(endpoints: readonly EndpointState[], size: number): Ring {
  const total = endpoints.reduce((s, e) => s + e.config.weight, 0);
  const perWeight = Math.max(1, Math.min(Math.ceil(size / 8), Math.floor(MAX_POINTS / Math.max(1, total))));
  const points: { h: number; k: string }[] = [];
  for (const e of endpoints) {
    const n = Math.max(1, e.config.weight * perWeight);
    for (let i = 0; i < n; i++) points.push({ h: murmur3(`${e.key}_${i}`), k: e.key });
  }
  points.sort((a, b) => a.h - b.h);
  return { hashes: Uint32Array.from(points.map((p) => p.h)), owners: points.map((p) => p.k) };
}

/** First ring index whose hash is ≥ h (wrapping to 0). */
function lowerBound(hashes: Uint32Array, h: number): number {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid] < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === hashes.length ? 0 : lo;
}

/**
 * A ring-hash picker. The ring is built over ALL endpoints (not only available ones) so ejecting
 * one endpoint does not reshuffle the others; an unavailable owner is skipped by walking on.
 */
export function ringHashPicker(size: number, random: () => number, all: () => { readonly generation: number; readonly endpoints: readonly EndpointState[] }): Picker {
  let ring: Ring | undefined;
  let built = -1;
  return {
    pick(endpoints, hash) {
      if (hash === undefined) return endpoints[Math.floor(random() * endpoints.length) % endpoints.length];
      const { generation, endpoints: every } = all();
      if (!ring || built !== generation) {
        ring = buildRing(every, size);
        built = generation;
      }
      const byKey = new Map(endpoints.map((e) => [e.key, e]));
      const start = lowerBound(ring.hashes, hash >>> 0);
      for (let i = 0; i < ring.owners.length; i++) {
        const e = byKey.get(ring.owners[(start + i) % ring.owners.length]);
        if (e) return e;
      }
      return endpoints[0];
    },
  };
}
