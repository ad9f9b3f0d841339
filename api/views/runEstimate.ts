/**
 * What a verification run says about the formal run to come: its answered samples' mean time and
 * tokens per sample, scaled to every item of each dataset (docs/tokens-and-cost.md). Pure: the
 * figures come from db/queries/runEstimate.ts.
 *
 * Per dataset of N items, from the n samples the verification answered:
 * - tokens: N × mean per sample; the range is N × (mean ± 2 standard errors), the standard error
 *   being sd/√n (taken as the mean itself when n = 1, so one sample gives a range of 0 to 3×);
 * - seconds: the dataset's fixed cost (the verification's dataset wall time less the time its
 *   samples took at its concurrency) + N × mean latency / min(maxConcurrency, N), with the same
 *   range on the latency. It assumes the endpoint answers as fast with maxConcurrency requests in
 *   flight as it did for the verification; one that slows under load makes it an underestimate;
 * - cost: the token ranges at the evaluation's current prices, which the formal run will freeze.
 * Totals add the datasets' figures and bounds (datasets run one after another). Nothing is said of
 * datasets the verification did not answer: they are listed in `missing`.
 */
import { costOf, type DatasetEstimate, type Prices, type Range, type RunEstimate } from '../../contracts/tokens';
import type { SampleStats, VerifiedDataset } from '../../db/queries/runEstimate';

export const ESTIMATE_METHOD =
  'Per dataset: N items × the mean per answered verification sample; ranges are N × (mean ± 2 standard errors, sd/√n, the mean itself when n = 1). ' +
  "Time: the verification dataset's fixed cost (its wall time less its samples' time at its concurrency) + N × mean latency / min(maxConcurrency, N); " +
  'it assumes the endpoint keeps its verification latency at maxConcurrency and is an underestimate when the endpoint slows under load; report writing is not included. ' +
  "Cost: the token ranges at the evaluation's current prices. With a few samples per dataset the ranges are wide and the expected figures may be off by a factor of 2 or more for datasets whose answers vary in length.";

function scaled(s: SampleStats, factor: number): Range {
  const se = s.n >= 2 && s.sd !== null ? s.sd / Math.sqrt(s.n) : s.mean;
  return {
    expected: s.mean * factor,
    low: Math.max(0, (s.mean - 2 * se) * factor),
    high: (s.mean + 2 * se) * factor,
  };
}

function costRange(prices: Prices | null, prompt: Range, completion: Range): Range | null {
  if (!prices) return null;
  return {
    expected: costOf(prices, prompt.expected, completion.expected)!,
    low: costOf(prices, prompt.low, completion.low)!,
    high: costOf(prices, prompt.high, completion.high)!,
  };
}

const add = (a: Range, b: Range): Range => ({
  expected: a.expected + b.expected,
  low: a.low + b.low,
  high: a.high + b.high,
});

export function datasetEstimate(
  v: VerifiedDataset,
  items: number,
  maxConcurrency: number,
  prices: Prices | null,
): DatasetEstimate {
  const lanes = Math.max(1, Math.min(maxConcurrency, items));
  const sampleMs = (v.latencyMs.mean * v.latencyMs.n) / Math.max(1, v.concurrency);
  const fixedSeconds = v.wallMs === null ? 0 : Math.max(0, v.wallMs - sampleMs) / 1000;
  const latency = scaled(v.latencyMs, items / lanes / 1000);
  const seconds = {
    expected: fixedSeconds + latency.expected,
    low: fixedSeconds + latency.low,
    high: fixedSeconds + latency.high,
  };
  const promptTokens = scaled(v.promptTokens, items);
  const completionTokens = scaled(v.completionTokens, items);
  return {
    dataset: v.datasetId,
    items,
    sampled: v.latencyMs.n,
    seconds,
    promptTokens,
    completionTokens,
    cost: costRange(prices, promptTokens, completionTokens),
  };
}

export function runEstimate(input: {
  evaluationId: string;
  basedOnRun: RunEstimate['basedOnRun'];
  datasetIds: readonly string[];
  sizes: ReadonlyMap<string, number>;
  verified: ReadonlyMap<string, VerifiedDataset>;
  maxConcurrency: number;
  prices: Prices | null;
}): RunEstimate {
  const datasets: DatasetEstimate[] = [];
  const missing: string[] = [];
  for (const id of input.datasetIds) {
    const v = input.verified.get(id);
    if (!v || v.latencyMs.n === 0) missing.push(id);
    else datasets.push(datasetEstimate(v, input.sizes.get(id) ?? 0, input.maxConcurrency, input.prices));
  }
  const zero: Range = { expected: 0, low: 0, high: 0 };
  const total =
    datasets.length === 0
      ? null
      : {
          seconds: datasets.map((d) => d.seconds).reduce(add, zero),
          promptTokens: datasets.map((d) => d.promptTokens).reduce(add, zero),
          completionTokens: datasets.map((d) => d.completionTokens).reduce(add, zero),
          cost: input.prices ? datasets.map((d) => d.cost!).reduce(add, zero) : null,
        };
  return {
    evaluationId: input.evaluationId,
    basedOnRun: input.basedOnRun,
    maxConcurrency: input.maxConcurrency,
    datasets,
    total,
    currency: input.prices?.currency ?? null,
    missing,
    method: ESTIMATE_METHOD,
  };
}
