import { describe, expect, it } from 'vitest';
import { bootstrapInterval, DEFAULT_RESAMPLES, type BootstrapOptions } from '../../scoring/bootstrapInterval';
import { Prng } from '../../datasets/prng';

/** n scores drawn from a known distribution with its own seed, independent of the bootstrap's. */
function bernoulli(seed: number, n: number, p: number): number[] {
  const prng = new Prng(seed);
  return Array.from({ length: n }, () => (prng.next() < p ? 1 : 0));
}
function uniform(seed: number, n: number): number[] {
  const prng = new Prng(seed);
  return Array.from({ length: n }, () => prng.next());
}

const interval = (scores: number[], options?: BootstrapOptions) => {
  const result = bootstrapInterval(scores, options);
  if (!result) throw new Error('expected an interval');
  return result;
};
const width = (scores: number[], options?: BootstrapOptions) => {
  const { lower, upper } = interval(scores, options);
  return upper - lower;
};
const sampleSd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

describe('bootstrapInterval: degenerate inputs', () => {
  it('has no interval for no samples', () => {
    expect(bootstrapInterval([])).toBeNull();
  });

  it('gives a zero-width interval at the value for one sample or all-equal samples', () => {
    expect(bootstrapInterval([0.7])).toEqual({
      mean: 0.7,
      lower: 0.7,
      upper: 0.7,
      confidence: 0.95,
      resamples: DEFAULT_RESAMPLES,
      n: 1,
    });
    expect(bootstrapInterval(new Array(500).fill(0.1))).toMatchObject({ mean: 0.1, lower: 0.1, upper: 0.1, n: 500 });
    expect(bootstrapInterval(new Float64Array(10))).toMatchObject({ mean: 0, lower: 0, upper: 0 });
  });

  it('refuses scores that are not finite and settings that make no interval', () => {
    expect(() => bootstrapInterval([1, Number.NaN])).toThrow(/score 1/);
    expect(() => bootstrapInterval([1, Infinity])).toThrow(RangeError);
    expect(() => bootstrapInterval([0, 1], { resamples: 0 })).toThrow(/resamples/);
    expect(() => bootstrapInterval([0, 1], { resamples: 10.5 })).toThrow(/resamples/);
    expect(() => bootstrapInterval([0, 1], { confidence: 1 })).toThrow(/confidence/);
    expect(() => bootstrapInterval([0, 1], { confidence: 0 })).toThrow(/confidence/);
  });

  it('spans the whole range for two opposite samples', () => {
    // Resample means are 0, 0.5 and 1 with probabilities 1/4, 1/2, 1/4: both tails hold an extreme.
    expect(interval([0, 1])).toMatchObject({ mean: 0.5, lower: 0, upper: 1 });
  });
});

describe('bootstrapInterval: properties', () => {
  it('contains the sample mean, for accuracy-like and fractional scores', () => {
    const datasets = [
      bernoulli(1, 50, 0.5),
      bernoulli(2, 200, 0.05),
      bernoulli(3, 1000, 0.9),
      uniform(4, 30),
      uniform(5, 5000),
    ];
    for (const scores of datasets) {
      const { mean, lower, upper } = interval(scores);
      expect(mean).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / scores.length, 12);
      expect(lower).toBeLessThan(mean);
      expect(upper).toBeGreaterThan(mean);
      expect(lower).toBeGreaterThanOrEqual(Math.min(...scores));
      expect(upper).toBeLessThanOrEqual(Math.max(...scores));
    }
  });

  it('is the same for the same seed and differs for another', () => {
    const scores = uniform(6, 300);
    expect(interval(scores, { seed: 42 })).toEqual(interval(scores, { seed: 42 }));
    expect(interval(scores)).toEqual(interval(scores));
    expect(interval(scores, { seed: 42 })).not.toEqual(interval(scores, { seed: 43 }));
  });

  it('narrows as 1/√n: four times the samples, half the width', () => {
    const ratios = [1, 2, 3].map((seed) => width(bernoulli(seed, 1600, 0.3)) / width(bernoulli(seed + 100, 400, 0.3)));
    for (const ratio of ratios) {
      expect(ratio).toBeGreaterThan(0.4);
      expect(ratio).toBeLessThan(0.6);
    }
  });

  it('widens with the confidence asked for', () => {
    const scores = uniform(7, 400);
    expect(width(scores, { confidence: 0.99 })).toBeGreaterThan(width(scores));
    expect(width(scores)).toBeGreaterThan(width(scores, { confidence: 0.8 }));
  });

  it('agrees with the normal approximation on 100,000 samples and 1,000 resamples', () => {
    // For a large n the mean is close to normal, so the width is near 2 × 1.96 × sd / √n.
    const scores = bernoulli(8, 100_000, 0.7);
    const expected = (2 * 1.959964 * sampleSd(scores)) / Math.sqrt(scores.length);
    const { lower, upper, resamples, n } = interval(scores);
    expect({ resamples, n }).toEqual({ resamples: 1000, n: 100_000 });
    expect((upper - lower) / expected).toBeGreaterThan(0.9);
    expect((upper - lower) / expected).toBeLessThan(1.1);
  });

  it('covers the true mean about 95% of the time', () => {
    // 1,000 datasets of 100 samples from known distributions. The binomial standard error of a
    // 95% coverage over 1,000 trials is 0.7 points, and the percentile bootstrap is known to run
    // a little under its nominal level at n = 100, hence the band [92%, 97%].
    const trials = 1000;
    const coverage = (draw: (seed: number) => number[], truth: number, confidence = 0.95) => {
      let covered = 0;
      for (let t = 0; t < trials; t++) {
        const { lower, upper } = interval(draw(10_000 + t), { seed: t, confidence });
        if (lower <= truth && truth <= upper) covered++;
      }
      return covered / trials;
    };
    const accuracy = coverage((seed) => bernoulli(seed, 100, 0.3), 0.3);
    const fractional = coverage((seed) => uniform(seed, 100), 0.5);
    const ninety = coverage((seed) => uniform(seed, 100), 0.5, 0.9);
    expect(accuracy).toBeGreaterThanOrEqual(0.92);
    expect(accuracy).toBeLessThanOrEqual(0.97);
    expect(fractional).toBeGreaterThanOrEqual(0.92);
    expect(fractional).toBeLessThanOrEqual(0.97);
    expect(ninety).toBeGreaterThanOrEqual(0.87);
    expect(ninety).toBeLessThanOrEqual(0.93);
  });
});

describe('bootstrapInterval: few distinct scores, drawn as counts', () => {
  /** The textbook bootstrap, sample by sample, for comparison. */
  function bruteForce(scores: number[], seed: number, resamples = 2000): { lower: number; upper: number } {
    const prng = new Prng(seed);
    const means: number[] = [];
    for (let b = 0; b < resamples; b++) {
      let total = 0;
      for (let i = 0; i < scores.length; i++) total += scores[prng.int(0, scores.length - 1)]!;
      means.push(total / scores.length);
    }
    means.sort((a, b) => a - b);
    const at = (q: number) => means[Math.round(q * (resamples - 1))]!;
    return { lower: at(0.025), upper: at(0.975) };
  }

  it('agrees with resampling sample by sample for accuracy and for graded scores', () => {
    const graded = (seed: number, n: number) => {
      const prng = new Prng(seed);
      return Array.from({ length: n }, () => [0, 0.25, 0.5, 1][prng.int(0, 3)]!);
    };
    for (const scores of [bernoulli(31, 3000, 0.62), bernoulli(32, 500, 0.05), graded(33, 2000)]) {
      const counts = interval(scores, { resamples: 2000 });
      const brute = bruteForce(scores, 99);
      const w = brute.upper - brute.lower;
      // Two independent 2,000-resample estimates of the same percentiles: a few percent of the width apart.
      expect(Math.abs(counts.lower - brute.lower)).toBeLessThan(0.1 * w);
      expect(Math.abs(counts.upper - brute.upper)).toBeLessThan(0.1 * w);
    }
  });

  it('handles a score that almost every sample has', () => {
    const scores = new Array(100_000).fill(1);
    scores[17] = 0;
    const { lower, upper, mean } = interval(scores);
    expect(mean).toBeCloseTo(0.99999, 10);
    expect(lower).toBeGreaterThanOrEqual(0.99996);
    expect(upper).toBeLessThanOrEqual(1);
  });
});
