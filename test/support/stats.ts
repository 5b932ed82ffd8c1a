/**
 * Statistical checks with a stated false-failure rate: the exact binomial acceptance band, and an
 * assertion that prints the counts when it fails (not just `expected true`).
 */

/** Chance, per check, that a correct implementation fails it: ≤ 1e-6 (split over both tails). */
export const FALSE_FAILURE_RATE = 1e-6;

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * The smallest [lo, hi] with P(X < lo) ≤ rate/2 and P(X > hi) ≤ rate/2 for X ~ Binomial(n, p),
 * from the exact pmf (log space, so n in the thousands does not underflow).
 */
export function binomialBand(n: number, p: number, rate = FALSE_FAILURE_RATE): { lo: number; hi: number } {
  if (!(Number.isInteger(n) && n >= 0) || !(p >= 0 && p <= 1)) throw new Error(`binomialBand: bad n=${n} or p=${p}`);
  if (p === 0) return { lo: 0, hi: 0 };
  if (p === 1) return { lo: n, hi: n };
  const logPmf: number[] = [n * Math.log1p(-p)];
  const step = Math.log(p) - Math.log1p(-p);
  for (let k = 0; k < n; k++) logPmf.push(logPmf[k] + Math.log((n - k) / (k + 1)) + step);
  const tail = Math.log(rate / 2);
  let lo = 0;
  for (let acc = -Infinity; lo <= n; lo++) {
    const next = logAddExp(acc, logPmf[lo]);
    if (next > tail) break; // P(X ≤ lo) would exceed the tail: lo is the first accepted count
    acc = next;
  }
  let hi = n;
  for (let acc = -Infinity; hi >= 0; hi--) {
    const next = logAddExp(acc, logPmf[hi]);
    if (next > tail) break;
    acc = next;
  }
  return { lo, hi };
}

/**
 * Asserts `hits` of `n` trials is what a probability `p` gives, within the exact binomial band
 * whose false-failure rate is ≤ 1e-6; on failure the message names `what`, the counts and the band.
 */
export function expectBinomial(what: string, hits: number, n: number, p: number): void {
  const { lo, hi } = binomialBand(n, p);
  if (hits < lo || hits > hi) {
    throw new Error(`${what}: ${hits} of ${n} (${((100 * hits) / n).toFixed(1)}%) is outside [${lo}, ${hi}], the band for p=${p} whose false-failure rate is ≤ ${FALSE_FAILURE_RATE}`);
  }
}

/** True when `hits` of `n` is inside the ≤ 1e-6 band for `p` (for property tests that return booleans). */
export function inBinomialBand(hits: number, n: number, p: number): boolean {
  const { lo, hi } = binomialBand(n, p);
  return hits >= lo && hits <= hi;
}
