import { wordTokens } from '../tokenize';
import { referencesOf } from '../references';
import type { ScoreReference } from '../scorer';

/**
 * rouge_l: ROUGE-L, the longest common subsequence (LCS) of output and reference tokens (see
 * wordTokens), as an F-measure of precision = LCS / |output| and recall = LCS / |reference|.
 *
 * The F-measure is F1 (β = 1), the choice of Google's rouge-score package, which Hugging Face's
 * evaluate and most current papers report; the COCO caption toolkit's β = 1.2 weighs recall more
 * and gives different numbers, so scores here are comparable with rouge-score's "rougeL"
 * fmeasure (without stemming). With several references the best F counts (rouge-score's
 * score_multi). An empty output or reference scores 1 only when both are empty.
 *
 * The LCS table is filled row by row in O(|output| × |reference|) time and O(|reference|) memory.
 */
export function rougeL(predict: string, { ground_truth }: ScoreReference): number {
  const predicted = wordTokens(predict);
  return Math.max(...referencesOf(ground_truth).map((reference) => lcsF1(predicted, wordTokens(reference))));
}

export function lcsF1(predicted: readonly string[], expected: readonly string[]): number {
  if (predicted.length === 0 || expected.length === 0) return predicted.length === expected.length ? 1 : 0;
  const lcs = lcsLength(predicted, expected);
  if (lcs === 0) return 0;
  const precision = lcs / predicted.length;
  const recall = lcs / expected.length;
  return (2 * precision * recall) / (precision + recall);
}

export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const token = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      current[j] = token === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}
