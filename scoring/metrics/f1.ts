import { answerTokens } from '../tokenize';
import { referencesOf } from '../references';
import type { ScoreReference } from '../scorer';

/**
 * f1: the SQuAD token F1. Output and reference become bags of tokens (answerTokens: lower-cased,
 * no punctuation, no articles); with c the size of their overlap (a token counts as often as it
 * occurs in both), precision = c / |output|, recall = c / |reference|, F1 = 2PR / (P + R). With
 * several references (see referencesOf) the best one counts, as SQuAD does with its several
 * annotators. When the output or a reference has no tokens at all, that pair scores 1 if both are
 * empty and 0 otherwise (the SQuAD 2.0 rule, where "no answer" must be matched by no answer).
 *
 * The whole output is scored, with no answer extraction: that is the definition every published
 * F1 uses, so prompts for f1 datasets should ask for the answer alone.
 */
export function f1(predict: string, { ground_truth }: ScoreReference): number {
  const predicted = answerTokens(predict);
  return Math.max(...referencesOf(ground_truth).map((reference) => tokenF1(predicted, answerTokens(reference))));
}

export function tokenF1(predicted: readonly string[], expected: readonly string[]): number {
  if (predicted.length === 0 || expected.length === 0) return predicted.length === expected.length ? 1 : 0;
  const available = new Map<string, number>();
  for (const token of expected) available.set(token, (available.get(token) ?? 0) + 1);
  let overlap = 0;
  for (const token of predicted) {
    const left = available.get(token) ?? 0;
    if (left > 0) {
      overlap++;
      available.set(token, left - 1);
    }
  }
  if (overlap === 0) return 0;
  const precision = overlap / predicted.length;
  const recall = overlap / expected.length;
  return (2 * precision * recall) / (precision + recall);
}
