/**
 * The score a sample gets in its inference batch: a rule metric scores it there and then (with the
 * options its scoring configuration gives), a judge metric or a safety dataset leaves it pending
 * for its judge (or the safety fallback), and a visual question is scored by the rule of its
 * question type (scoring/multimodal/vqaScoring.ts).
 */
import { SAFETY_METRIC, type MetricName } from '../../contracts/dataset';
import type { FrozenMetric } from '../../contracts/scoringConfig';
import { scoreSample } from '../metrics';
import { scoreVqaAnswer, vqaQuestionOf } from '../multimodal/vqaScoring';

export function inlineScore(
  configured: FrozenMetric | undefined,
  datasetMetric: MetricName,
  predict: string,
  item: { itemId?: string; groundTruth: string; choices?: string[] | null; metadata?: Record<string, unknown> | null },
): { score: number | null; status: 'scored' | 'pending' } {
  // A visual question is scored by its question type, whatever a scoring configuration says.
  if (datasetMetric === 'vqa_accuracy') {
    const question = vqaQuestionOf({
      id: item.itemId ?? '',
      prompt: '',
      ground_truth: item.groundTruth,
      ...(item.choices ? { choices: item.choices } : {}),
      ...(item.metadata ? { metadata: item.metadata } : {}),
    });
    if ('problem' in question) throw new Error(`the dataset cannot be scored: ${question.problem}`);
    return { score: scoreVqaAnswer(predict, question).correct ? 1 : 0, status: 'scored' };
  }
  // A safety answer waits for its label (activities/judging/judgeBatch.ts), as a judged one does.
  if (configured?.metric === 'judge' || datasetMetric === SAFETY_METRIC) return { score: null, status: 'pending' };
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
