/**
 * Rule-based scoring of one sample: a registry of scorers keyed by metric name, one file per
 * metric under metrics/. The Record type makes a new name in contracts/dataset.ts fail to compile
 * until it has a scorer, so a judge metric slots in here without touching the callers.
 *
 *   exact_match    normalised whole output, final line or stated answer equals the ground truth
 *   mc_accuracy    the extracted option letter is the ground-truth letter
 *   numeric_match  the extracted answer number is within tolerance of the ground truth
 *   f1             SQuAD token F1, best over references
 *   rouge_l        ROUGE-L F1 on word tokens, best over references
 *   bleu           sentence BLEU-4 as sacreBLEU computes it, over all references
 *
 * pass_at_k has no scorer here: a program is judged by running it against the item's hidden tests
 * in the code sandbox (activities/codeScoring), never by reading its text.
 */
import { CODE_METRIC, type MetricName, type TextMetricName } from '../contracts/dataset';
import type { MetricOptions } from '../contracts/metricOptions';
import type { ScoreReference, Scorer } from './scorer';
import { exactMatch } from './metrics/exactMatch';
import { mcAccuracy } from './metrics/mcAccuracy';
import { numericMatch } from './metrics/numericMatch';
import { f1 } from './metrics/f1';
import { rougeL } from './metrics/rougeL';
import { bleu } from './metrics/bleu';

export type { ScoreReference } from './scorer';

const SCORERS: Readonly<Record<TextMetricName, Scorer>> = {
  exact_match: exactMatch,
  mc_accuracy: mcAccuracy,
  numeric_match: numericMatch,
  f1,
  rouge_l: rougeL,
  bleu,
};

/** The score of one output in [0, 1]; a scorer's NaN (which none should give) counts as 0. */
export function scoreSample(
  metric: MetricName,
  predict: string,
  reference: ScoreReference,
  options: MetricOptions = {},
): number {
  if (metric === CODE_METRIC)
    throw new Error('pass_at_k is scored by running the program in the code sandbox, not from its text');
  const scorer = SCORERS[metric as TextMetricName];
  if (!scorer) throw new Error(`no scorer for metric "${metric}"`);
  const score = scorer(predict, reference, options);
  return Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0;
}
