import { describe, expect, it } from 'vitest';
import { binomialDraw } from '../../scoring/binomialDraw';
import { Prng } from '../../datasets/prng';

/** Exact Binomial(n, p) probabilities by the product formula, for small n. */
function pmf(n: number, p: number): number[] {
  const out: number[] = [];
  for (let k = 0; k <= n; k++) {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    out.push(c * p ** k * (1 - p) ** (n - k));
  }
  return out;
}

describe('binomialDraw', () => {
  it('answers the certain cases without drawing', () => {
    const prng = new Prng(1);
    expect(binomialDraw(0, 0.5, prng)).toBe(0);
    expect(binomialDraw(50, 0, prng)).toBe(0);
    expect(binomialDraw(50, 1, prng)).toBe(50);
  });

  it('follows the binomial distribution (chi-square against the exact probabilities)', () => {
    for (const [n, p] of [
      [10, 0.3],
      [25, 0.9],
      [40, 0.05],
      [7, 0.5],
    ] as const) {
      const draws = 40_000;
      const prng = new Prng(n * 1000 + Math.round(p * 100));
      const seen = new Array(n + 1).fill(0);
      for (let i = 0; i < draws; i++) seen[binomialDraw(n, p, prng)]++;
      // Pool the outcomes expected fewer than 5 times into their neighbours, as the test requires.
      const expected = pmf(n, p).map((q) => q * draws);
      let chi = 0;
      let cells = 0;
      let pooledE = 0;
      let pooledO = 0;
      for (let k = 0; k <= n; k++) {
        pooledE += expected[k]!;
        pooledO += seen[k]!;
        if (pooledE >= 5) {
          chi += (pooledO - pooledE) ** 2 / pooledE;
          cells++;
          pooledE = 0;
          pooledO = 0;
        }
      }
      // 99.9th percentile of chi-square with up to 40 degrees of freedom is below 74; a wrong
      // distribution (e.g. off by one, or the mode's mass misplaced) gives hundreds or thousands.
      expect(chi, `n=${n} p=${p}: chi-square ${chi.toFixed(1)} over ${cells} cells`).toBeLessThan(74);
    }
  });

  it('has the binomial mean and variance for large n', () => {
    for (const [n, p] of [
      [100_000, 0.7],
      [1_000_000, 0.001],
      [50_000, 0.5],
    ] as const) {
      const prng = new Prng(n);
      const xs = Array.from({ length: 5000 }, () => binomialDraw(n, p, prng));
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
      const sd = Math.sqrt(n * p * (1 - p));
      // Mean within 4 standard errors; variance within 10% (its relative error here is ~2%).
      expect(Math.abs(mean - n * p)).toBeLessThan((4 * sd) / Math.sqrt(xs.length));
      expect(variance / (sd * sd)).toBeGreaterThan(0.9);
      expect(variance / (sd * sd)).toBeLessThan(1.1);
    }
  });
});
