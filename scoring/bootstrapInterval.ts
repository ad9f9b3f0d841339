/**
 * A confidence interval for a dataset's score, the mean of its per-sample scores, by the
 * percentile bootstrap: draw `resamples` datasets of the same size from the samples with
 * replacement, take each one's mean, and report the 2.5th and 97.5th percentiles of those means
 * (for the default 95%). It assumes nothing about how scores are distributed, so it serves 0/1
 * accuracy and fractional F1, ROUGE or BLEU alike.
 *
 * Deterministic: the draws come from a seeded Prng (datasets/prng.ts), so the same scores, seed
 * and resample count give the same interval on every machine and every retry of an activity.
 * Percentiles interpolate linearly between the sorted resample means (numpy's default), so the
 * bounds move smoothly with the data rather than jumping between order statistics.
 *
 * Cost: with few distinct scores (accuracy, pass/fail) each resample is a handful of binomial
 * draws, O(√n) each, so 100,000 samples take milliseconds; otherwise O(n × resamples) draws and
 * additions, about a second for 100,000 samples with 1,000 resamples on the project's two-core
 * machine (see test/scoring/bootstrapInterval.test.ts). Both plus O(resamples log resamples) for
 * the sort, and O(n + resamples) memory.
 *
 * Degenerate cases:
 *   - no samples: there is no mean, the result is null;
 *   - one sample, or all samples equal: every resample has the same mean, so the interval is
 *     that value with zero width. That is what the bootstrap can see, not a claim of certainty:
 *     100 samples all scored 1 do not prove a true score of exactly 1. Readers should treat a
 *     zero-width interval as "too few or too uniform samples to say".
 */
import { Prng } from '../datasets/prng';
import { binomialDraw } from './binomialDraw';

export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_CONFIDENCE = 0.95;
/** Any fixed seed keeps results reproducible; callers with a natural one (a run id hash) may pass it. */
export const DEFAULT_BOOTSTRAP_SEED = 20_240_601;

export interface BootstrapOptions {
  seed?: number;
  resamples?: number;
  confidence?: number;
}

export interface MeanInterval {
  /** The mean of the scores themselves, not of the resamples. */
  mean: number;
  lower: number;
  upper: number;
  confidence: number;
  resamples: number;
  n: number;
}

const UINT32_RANGE = 0x1_0000_0000;

export function bootstrapInterval(scores: ArrayLike<number>, options: BootstrapOptions = {}): MeanInterval | null {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be between 0 and 1, got ${confidence}`);
  const n = scores.length;
  if (n === 0) return null;
  if (n >= UINT32_RANGE) throw new RangeError(`cannot resample ${n} scores`);

  const values = Float64Array.from(scores);
  let sum = 0;
  let allEqual = true;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`score ${i} is not a finite number: ${v}`);
    sum += v;
    allEqual &&= v === values[0];
  }
  const mean = sum / n;
  if (allEqual) return { mean: values[0]!, lower: values[0]!, upper: values[0]!, confidence, resamples, n };

  const prng = new Prng(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const means = new Float64Array(resamples);
  const levels = distinctCounts(values, MAX_LEVELS_FOR_COUNTS);
  if (levels) {
    // Few distinct scores (accuracy is 0 or 1): a resample is only how many times it drew each
    // score, and those counts are multinomial — drawn score by score as binomials of what is
    // left. The same distribution as drawing n samples, in O(√n) instead of O(n) per resample.
    for (let b = 0; b < resamples; b++) {
      let left = n;
      let total = 0;
      for (let j = 0; j < levels.length - 1 && left > 0; j++) {
        const { value, count, countFromHere } = levels[j]!;
        const drawn = binomialDraw(left, count / countFromHere, prng);
        total += drawn * value;
        left -= drawn;
      }
      total += left * levels[levels.length - 1]!.value;
      means[b] = total / n;
    }
  } else {
    resampleEach(values, means, prng);
  }
  means.sort();

  const tail = (1 - confidence) / 2;
  return { mean, lower: percentile(means, tail), upper: percentile(means, 1 - tail), confidence, resamples, n };
}

/** Above this many distinct scores, resampling sample by sample is the cheaper way. */
const MAX_LEVELS_FOR_COUNTS = 16;

interface Level {
  value: number;
  count: number;
  /** Samples with this score or one of the scores after it in the order. */
  countFromHere: number;
}

/** The distinct scores in ascending order with their counts, or null when there are more than `max`. */
function distinctCounts(values: Float64Array, max: number): Level[] | null {
  const counts = new Map<number, number>();
  for (const v of values) {
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (counts.size > max) return null;
  }
  const sorted = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  let fromHere = values.length;
  return sorted.map(([value, count]) => {
    const level = { value, count, countFromHere: fromHere };
    fromHere -= count;
    return level;
  });
}

/** Each resample drawn sample by sample: any scores, O(n) per resample. */
function resampleEach(values: Float64Array, means: Float64Array, prng: Prng): void {
  const n = values.length;
  // Prng.int(0, n - 1) inlined: the same rejection of the 2^32 range's uneven top keeps the draws
  // unbiased, without its argument checks on each of the n × resamples draws.
  const limit = UINT32_RANGE - (UINT32_RANGE % n);
  for (let b = 0; b < means.length; b++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      let x = prng.nextUint32();
      while (x >= limit) x = prng.nextUint32();
      total += values[x % n]!;
    }
    means[b] = total / n;
  }
}

/** The p-quantile of sorted values, interpolating linearly between neighbours. */
function percentile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const below = Math.floor(h);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (h - below) * (sorted[above]! - sorted[below]!);
}
