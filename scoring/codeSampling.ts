/**
 * How many completions a pass_at_k dataset asks per problem, and which pass@k it reports. The
 * dataset's scoring entry may set `options.n` and `options.ks`; without them one completion is
 * asked and pass@1 reported. ks above n are dropped (pass@k needs k ≤ n).
 */
import { CODE_METRIC } from '../contracts/dataset';
import type { CodeSampling, RunConfig, RunDatasetPlan } from '../contracts/run';
import type { FrozenMetric } from '../contracts/scoringConfig';

export const MAX_COMPLETIONS_PER_PROBLEM = 100;

export function isCodeDataset(plan: Pick<RunDatasetPlan, 'metric'> | undefined): boolean {
  return plan?.metric === CODE_METRIC;
}

export function codeSamplingFor(config: RunConfig, datasetId: string): CodeSampling {
  const options = (config.scoring?.datasets[datasetId]?.options ?? {}) as { n?: unknown; ks?: unknown };
  const n =
    Number.isInteger(options.n) && (options.n as number) >= 1
      ? Math.min(options.n as number, MAX_COMPLETIONS_PER_PROBLEM)
      : 1;
  const asked = Array.isArray(options.ks)
    ? options.ks.filter((k): k is number => Number.isInteger(k) && k >= 1 && k <= n)
    : [];
  return { n, ks: [...new Set([1, ...asked])].sort((a, b) => a - b) };
}

/**
 * A text dataset's scoring entry as inline scoring may use it: `pass_at_k` scores no text, so an
 * entry naming it (which the configuration check refuses) leaves the dataset to its own metric
 * rather than failing every batch.
 */
export function textScoring(entry: FrozenMetric | undefined): FrozenMetric | undefined {
  return entry?.metric === CODE_METRIC ? undefined : entry;
}
