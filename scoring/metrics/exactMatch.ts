import { answerStatements, finalLine, normalizeAnswer } from '../normalizeAnswer';
import type { ScoreReference } from '../scorer';

/**
 * exact_match: 1 when the whole output, its last non-blank line, or the text of any explicit answer
 * statement ("Answer: …", "The answer is …"; see answerStatements) equals the ground truth after
 * normalizeAnswer on both sides. Models asked for a bare answer often explain first; the final
 * line or a stated answer is what they answered.
 */
export function exactMatch(predict: string, { ground_truth }: ScoreReference): number {
  const expected = normalizeAnswer(ground_truth);
  const candidates = [predict, finalLine(predict), ...answerStatements(predict)];
  return candidates.some((c) => normalizeAnswer(c) === expected) ? 1 : 0;
}
