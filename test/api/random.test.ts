/** api/random.ts: the seeded source is reproducible and uniform enough; WEFT_RANDOM_SEED is validated. */
import { randomFromEnv, seededRandom } from '../../api/random';
import { expectBinomial } from '../support/stats';

test('the same seed gives the same sequence, another seed another one, all in [0, 1)', () => {
  const a = Array.from({ length: 5 }, seededRandom(7));
  const draw = seededRandom(7);
  expect(Array.from({ length: 5 }, () => draw())).toEqual(a);
  const other = seededRandom(8);
  expect(Array.from({ length: 5 }, () => other())).not.toEqual(a);
  const r = seededRandom(1);
  for (let i = 0; i < 10_000; i++) {
    const x = r();
    expect(x >= 0 && x < 1).toBe(true);
  }
});

test('a seeded draw is uniform: each tenth of [0, 1) gets its binomial share of 20,000 draws', () => {
  const r = seededRandom(20261206);
  const bins = new Array<number>(10).fill(0);
  for (let i = 0; i < 20_000; i++) bins[Math.floor(r() * 10)]++;
  bins.forEach((hits, i) => expectBinomial(`draws in [${i / 10}, ${(i + 1) / 10})`, hits, 20_000, 0.1));
});

test('WEFT_RANDOM_SEED: unset or empty is Math.random, an integer seeds, anything else is WEFT_ERR_RANDOM_SEED', () => {
  expect(randomFromEnv({})).toBe(Math.random);
  expect(randomFromEnv({ WEFT_RANDOM_SEED: '' })).toBe(Math.random);
  expect(randomFromEnv({ WEFT_RANDOM_SEED: '42' })()).toBe(seededRandom(42)());
  for (const bad of ['-1', '1.5', 'abc', '4294967296', ' 7']) {
    expect(() => randomFromEnv({ WEFT_RANDOM_SEED: bad })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_RANDOM_SEED' }));
  }
});
