import { describe, expect, it } from 'vitest';
import {
  datasetInterval,
  intervalSeed,
  overallInterval,
  overallScore,
  taskScores,
  type ScoreInterval,
  type TaskScoreWithInterval,
} from '../../scoring/scoreAggregation';
import type { DatasetMetrics, RunStatus } from '../../contracts/run';
import { bootstrapInterval } from '../../scoring/bootstrapInterval';
import { Prng } from '../../datasets/prng';

/** n scores from a known distribution, drawn with their own seed (independent of the bootstrap's). */
function bernoulli(seed: number, n: number, p: number): number[] {
  const prng = new Prng(seed);
  return Array.from({ length: n }, () => (prng.next() < p ? 1 : 0));
}
function uniform(seed: number, n: number): number[] {
  const prng = new Prng(seed);
  return Array.from({ length: n }, () => prng.next());
}
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A closed dataset whose metrics are what the lifecycle activity computes from these scores. */
function dataset(task: string, scores: number[], seed: number, status: RunStatus = 'succeeded') {
  const metrics: DatasetMetrics = {
    metric: 'exact_match',
    score: scores.length === 0 ? 0 : mean(scores),
    scored: scores.length,
    failed: 0,
    avgOutputLength: 1,
    ...datasetInterval(scores, seed),
  };
  return { task, status, metrics };
}

function interval(value: ScoreInterval | null): ScoreInterval {
  if (!value) throw new Error('expected an interval');
  return value;
}

describe('intervalSeed', () => {
  it('is FNV-1a over the run and dataset ids, fixed so a retried activity stores the same interval', () => {
    // Reference values from an independent FNV-1a (32-bit, over the UTF-8 of `${runId}\0${datasetId}`).
    expect(intervalSeed('00000000-0000-4000-8000-000000000000', 'arith-basic')).toBe(3_624_586_460);
    expect(intervalSeed('9b2f6c1e-5d4a-4f3b-8e7d-2a1c0b9f8e7d', 'word-reverse')).toBe(2_293_696_197);
  });

  it('differs between the datasets of a run and between runs, and does not run the ids together', () => {
    const run = '9b2f6c1e-5d4a-4f3b-8e7d-2a1c0b9f8e7d';
    const seeds = [
      intervalSeed(run, 'a'),
      intervalSeed(run, 'b'),
      intervalSeed('0' + run.slice(1), 'a'),
      intervalSeed(`${run}a`, ''),
    ];
    expect(new Set(seeds).size).toBe(seeds.length);
    for (const seed of seeds) {
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(0);
      expect(seed).toBeLessThan(2 ** 32);
    }
  });
});

describe('datasetInterval', () => {
  const scores = [...bernoulli(1, 400, 0.7), ...uniform(2, 100)];

  it('is the bootstrap interval of the scores under the seed, with the exact bootstrap standard error', () => {
    const seed = intervalSeed('c0ffee00-0000-4000-8000-000000000000', 'mixed');
    const { ci95, standardError } = datasetInterval(scores, seed);
    const bootstrap = bootstrapInterval(scores, { seed })!;
    expect(ci95).toEqual({ lower: bootstrap.lower, upper: bootstrap.upper });
    expect(bootstrap.resamples).toBe(1000);
    const m = mean(scores);
    expect(standardError).toBeCloseTo(Math.sqrt(mean(scores.map((x) => (x - m) ** 2)) / scores.length), 15);
    // The percentile interval of a near-normal mean spans about 2 × 1.96 standard errors.
    expect((ci95!.upper - ci95!.lower) / (2 * 1.959964 * standardError!)).toBeGreaterThan(0.9);
    expect((ci95!.upper - ci95!.lower) / (2 * 1.959964 * standardError!)).toBeLessThan(1.1);
    expect(ci95!.lower).toBeLessThan(m);
    expect(ci95!.upper).toBeGreaterThan(m);
  });

  it('repeats itself for the same run and dataset, and not for another', () => {
    const run = '5a386b5b-2008-4de9-b36f-1f72c9101380';
    const first = datasetInterval(scores, intervalSeed(run, 'ds-1'));
    expect(datasetInterval([...scores], intervalSeed(run, 'ds-1'))).toEqual(first);
    expect(datasetInterval(scores, intervalSeed(run, 'ds-2')).ci95).not.toEqual(first.ci95);
    // Order matters to the draw, which is why the scores are loaded in sample order.
    expect(datasetInterval([...scores].reverse(), intervalSeed(run, 'ds-1')).ci95).not.toEqual(first.ci95);
    expect(datasetInterval([...scores].reverse(), intervalSeed(run, 'ds-1')).standardError).toBeCloseTo(
      first.standardError!,
      15,
    );
  });

  it('has none without samples, and zero width when every sample scored the same', () => {
    expect(datasetInterval([], 1)).toEqual({ ci95: null, standardError: null });
    expect(datasetInterval([1, 1, 1], 1)).toEqual({ ci95: { lower: 1, upper: 1 }, standardError: 0 });
    expect(datasetInterval([0.4], 1)).toEqual({ ci95: { lower: 0.4, upper: 0.4 }, standardError: 0 });
  });
});

describe('task and overall intervals', () => {
  it('passes a lone dataset’s interval on to its task, and a lone task’s to the run', () => {
    const d = dataset('reading', uniform(3, 200), 11);
    const tasks = taskScores([d]);
    expect(tasks).toEqual([
      {
        task: 'reading',
        score: d.metrics.score,
        datasets: 1,
        ci95: d.metrics.ci95,
        standardError: d.metrics.standardError,
      },
    ]);
    expect(overallInterval(tasks)).toEqual(d.metrics.ci95);
  });

  it('combines several as score ± 1.96 × √(Σ SE²) / k, counting succeeded datasets only', () => {
    const a = dataset('arithmetic', bernoulli(4, 300, 0.6), 1);
    const b = dataset('arithmetic', uniform(5, 150), 2);
    const c = dataset('reading', bernoulli(6, 200, 0.3), 3);
    const stopped = dataset('arithmetic', bernoulli(7, 50, 0.1), 4, 'stopped');
    const failed = { task: 'reading', status: 'failed' as const, metrics: null };
    const tasks = taskScores([a, stopped, c, b, failed]);

    const arithmeticSe = Math.hypot(a.metrics.standardError!, b.metrics.standardError!) / 2;
    const arithmeticScore = (a.metrics.score + b.metrics.score) / 2;
    expect(tasks[0]!).toMatchObject({ task: 'arithmetic', datasets: 2, score: arithmeticScore });
    expect(tasks[0]!.standardError).toBeCloseTo(arithmeticSe, 15);
    expect(tasks[0]!.ci95!.lower).toBeCloseTo(arithmeticScore - 1.959964 * arithmeticSe, 6);
    expect(tasks[0]!.ci95!.upper).toBeCloseTo(arithmeticScore + 1.959964 * arithmeticSe, 6);
    expect(tasks[1]).toEqual({
      task: 'reading',
      datasets: 1,
      score: c.metrics.score,
      ci95: c.metrics.ci95,
      standardError: c.metrics.standardError,
    });

    const overall = interval(overallInterval(tasks));
    const overallSe = Math.hypot(arithmeticSe, c.metrics.standardError!) / 2;
    const score = overallScore(tasks)!;
    expect(score).toBeCloseTo((arithmeticScore + c.metrics.score) / 2, 15);
    expect(overall.lower).toBeCloseTo(score - 1.959964 * overallSe, 6);
    expect(overall.upper).toBeCloseTo(score + 1.959964 * overallSe, 6);
    // Averaging independent estimates narrows the interval below the widest part's.
    const widths = tasks.map((t) => interval(t.ci95).upper - interval(t.ci95).lower);
    expect(overall.upper - overall.lower).toBeLessThan(Math.max(...widths));
  });

  it('keeps combined bounds within the scores’ range [0, 1]', () => {
    const tasks = taskScores([dataset('t', [1, 1, 1, 0], 1), dataset('t', [1, 1, 1, 1, 1, 0], 2)]);
    const [t] = tasks;
    expect(t!.score + 1.959964 * t!.standardError!).toBeGreaterThan(1);
    expect(t!.ci95!.upper).toBe(1);
    expect(t!.ci95!.lower).toBeCloseTo(t!.score - 1.959964 * t!.standardError!, 6);
    const low = taskScores([dataset('t', [0, 0, 0, 1], 1), dataset('t', [0, 0, 0, 0, 0, 1], 2)])[0]!;
    expect(low.ci95!.lower).toBe(0);
  });

  it('has none where a part has none: no samples, or metrics stored before intervals existed', () => {
    const withInterval = dataset('t', bernoulli(8, 100, 0.5), 1);
    const empty = dataset('t', [], 2);
    const { ci95: _ci, standardError: _se, ...legacyMetrics } = dataset('u', bernoulli(9, 100, 0.5), 3).metrics;
    const legacy = { task: 'u', status: 'succeeded' as const, metrics: legacyMetrics as DatasetMetrics };

    const tasks = taskScores([withInterval, empty, legacy]);
    expect(tasks.map((t) => [t.task, t.ci95, t.standardError])).toEqual([
      ['t', null, null],
      ['u', null, null],
    ]);
    expect(tasks[0]!.score).toBeCloseTo(withInterval.metrics.score / 2, 15);
    expect(overallInterval(tasks)).toBeNull();
    expect(overallInterval([])).toBeNull();
    expect(overallInterval(taskScores([withInterval, legacy]))).toBeNull();
  });

  it('agrees with a stratified percentile bootstrap of the same datasets', () => {
    // The bootstrap the combined interval stands for: resample every dataset within itself, average
    // the dataset means per task and the task means overall, and read off the 2.5th and 97.5th
    // percentiles. With a few hundred samples per dataset both bounds agree within 5% of the width.
    const spec = [
      { task: 'arithmetic', scores: bernoulli(21, 300, 0.8) },
      { task: 'arithmetic', scores: uniform(22, 200) },
      { task: 'arithmetic', scores: bernoulli(23, 150, 0.45) },
      { task: 'reading', scores: bernoulli(24, 250, 0.3) },
      { task: 'reading', scores: uniform(25, 120).map((x) => x * x) },
    ];
    const tasks = taskScores(spec.map((s, i) => dataset(s.task, s.scores, 100 + i)));

    const resamples = 10_000;
    const prng = new Prng(99);
    const resampledMean = (xs: number[]) => {
      let total = 0;
      for (let i = 0; i < xs.length; i++) total += xs[prng.int(0, xs.length - 1)]!;
      return total / xs.length;
    };
    const byTask: Record<string, number[]> = { arithmetic: [], reading: [] };
    const overall: number[] = [];
    for (let b = 0; b < resamples; b++) {
      const taskMeans = ['arithmetic', 'reading'].map((task) =>
        mean(spec.filter((s) => s.task === task).map((s) => resampledMean(s.scores))),
      );
      byTask.arithmetic!.push(taskMeans[0]!);
      byTask.reading!.push(taskMeans[1]!);
      overall.push(mean(taskMeans));
    }
    const percentiles = (xs: number[]) => {
      const sorted = [...xs].sort((x, y) => x - y);
      return {
        lower: sorted[Math.round(0.025 * (resamples - 1))]!,
        upper: sorted[Math.round(0.975 * (resamples - 1))]!,
      };
    };
    const expectClose = (combined: ScoreInterval | null, stratified: ScoreInterval) => {
      const { lower, upper } = interval(combined);
      const tolerance = 0.05 * (stratified.upper - stratified.lower);
      expect(Math.abs(lower - stratified.lower)).toBeLessThan(tolerance);
      expect(Math.abs(upper - stratified.upper)).toBeLessThan(tolerance);
    };
    const task = (name: string): TaskScoreWithInterval => tasks.find((t) => t.task === name)!;
    expectClose(task('arithmetic').ci95, percentiles(byTask.arithmetic!));
    expectClose(task('reading').ci95, percentiles(byTask.reading!));
    expectClose(overallInterval(tasks), percentiles(overall));
  });

  it('covers the true task and overall scores about 95% of the time', () => {
    // 1,000 runs of two tasks from known distributions: arithmetic averages two datasets (combined
    // interval), reading has one (its bootstrap interval), and the overall averages the two tasks.
    // Binomial noise over 1,000 trials is 0.7 points, hence the band [92%, 97%].
    const truth = { arithmetic: (0.8 + 0.5) / 2, reading: 0.3 };
    const overallTruth = (truth.arithmetic + truth.reading) / 2;
    const trials = 1000;
    let arithmeticCovered = 0;
    let overallCovered = 0;
    for (let t = 0; t < trials; t++) {
      const tasks = taskScores([
        dataset('arithmetic', bernoulli(10_000 + t, 60, 0.8), 3 * t),
        dataset('arithmetic', uniform(20_000 + t, 80), 3 * t + 1),
        dataset('reading', bernoulli(30_000 + t, 100, 0.3), 3 * t + 2),
      ]);
      const arithmetic = interval(tasks[0]!.ci95);
      const overall = interval(overallInterval(tasks));
      if (arithmetic.lower <= truth.arithmetic && truth.arithmetic <= arithmetic.upper) arithmeticCovered++;
      if (overall.lower <= overallTruth && overallTruth <= overall.upper) overallCovered++;
    }
    expect(arithmeticCovered / trials).toBeGreaterThanOrEqual(0.92);
    expect(arithmeticCovered / trials).toBeLessThanOrEqual(0.97);
    expect(overallCovered / trials).toBeGreaterThanOrEqual(0.92);
    expect(overallCovered / trials).toBeLessThanOrEqual(0.97);
  });
});
