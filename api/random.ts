/**
 * Seeded randomness: every random choice weft makes (balancer picks, weighted splits, retry and
 * reconnect jitter, outlier enforcement) takes a `() => number` so tests and operators can fix it.
 */
import { WeftError } from './errors';

/** A uniform [0, 1) source. */
export type Random = () => number;

/**
 * mulberry32: a 32-bit PRNG, fast and good enough for load-balancing and jitter (not for secrets;
 * tokens, serials and span ids use node:crypto). The same seed gives the same sequence.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The environment variable that seeds a process's randomness (`weft proxy`, tests). */
export const RANDOM_SEED_ENV = 'WEFT_RANDOM_SEED';

/**
 * The source named by `WEFT_RANDOM_SEED` (a non-negative integer), else `Math.random`.
 * @throws WeftError WEFT_ERR_RANDOM_SEED when the variable is set but not an integer in [0, 2^32).
 */
export function randomFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Random {
  const raw = env[RANDOM_SEED_ENV];
  if (raw === undefined || raw === '') return Math.random;
  const seed = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(seed) || seed >= 2 ** 32) {
    throw new WeftError('WEFT_ERR_RANDOM_SEED', `${RANDOM_SEED_ENV}=${JSON.stringify(raw)} is not a seed; set it to an integer in [0, 4294967295] or unset it for Math.random`);
  }
  return seededRandom(seed);
}
