/**
 * The score a sample gets in its inference batch: a rule metric scores it there and then (with the
 * options its scoring configuration gives), a judge metric leaves it pending for its judge.
 */
import type { MetricName } from '../../contracts/dataset';
import type { FrozenMetric } from '../../contracts/scoringConfig';
import { scoreSample } from '../metrics';

export function inlineScore(
  configured: FrozenMetric | undefined,
  datasetMetric: MetricName,
  predict: string,
  item: { groundTruth: string; choices?: string[] | null },
): { score: number | null; status: 'scored' | 'pending' } {
  if (configured?.metric === 'judge') return { score: null, status: 'pending' };
  const metric = configured?.metric ?? datasetMetric;
  return {
    score: scoreSample(
      metric,
      predict,
      { ground_truth: item.groundTruth, choices: item.choices ?? undefined },
      configured?.options ?? {},
    ),
    status: 'scored',
  };
}
