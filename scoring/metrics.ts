/**
 * Rule-based scoring of one sample. Each metric is a scorer in a registry keyed by metric name;
 * the Record type makes a new name in contracts/dataset.ts fail to compile until it has a scorer,
 * so F1, ROUGE or a judge metric slot in here without touching the callers.
 */
import type { MetricName } from '../contracts/dataset';
import { answerStatements, finalLine, normalizeAnswer } from './normalizeAnswer';
import { extractChoice } from './extractChoice';
import { extractFinalNumber, parseNumber } from './extractNumber';

export interface ScoreReference {
  ground_truth: string;
  choices?: string[];
}

type Scorer = (predict: string, reference: ScoreReference) => number;

/**
 * exact_match: 1 when the whole output, its last non-blank line, or the text of any explicit answer
 * statement ("Answer: …", "The answer is …"; see answerStatements) equals the ground truth after
 * normalizeAnswer on both sides. Models asked for a bare answer often explain first; the final
 * line or a stated answer is what they answered.
 */
function exactMatch(predict: string, { ground_truth }: ScoreReference): number {
  const expected = normalizeAnswer(ground_truth);
  const candidates = [predict, finalLine(predict), ...answerStatements(predict)];
  return candidates.some((c) => normalizeAnswer(c) === expected) ? 1 : 0;
}

/** mc_accuracy: 1 when the one letter extracted (see extractChoice) is the ground-truth letter. */
function mcAccuracy(predict: string, { ground_truth, choices }: ScoreReference): number {
  const chosen = extractChoice(predict, choices);
  return chosen.kind === 'letter' && chosen.letter === ground_truth.trim().toUpperCase() ? 1 : 0;
}

const RELATIVE_TOLERANCE = 1e-6;
const ABSOLUTE_TOLERANCE = 1e-9;

/**
 * numeric_match: the answer number (see extractFinalNumber) equals the ground truth within a
 * relative tolerance of 1e-6, or an absolute one of 1e-9 for values near zero. A ground truth that
 * is not a number scores 0; datasets are validated against that at registration.
 */
function numericMatch(predict: string, { ground_truth }: ScoreReference): number {
  const expected = parseNumber(ground_truth);
  const given = extractFinalNumber(predict, answerStatements(predict));
  if (expected === null || given === null) return 0;
  const tolerance = Math.max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * Math.max(Math.abs(expected), Math.abs(given)));
  return Math.abs(given - expected) <= tolerance ? 1 : 0;
}

const SCORERS: Readonly<Record<MetricName, Scorer>> = {
  exact_match: exactMatch,
  mc_accuracy: mcAccuracy,
  numeric_match: numericMatch,
};

export function scoreSample(metric: MetricName, predict: string, reference: { ground_truth: string; choices?: string[] }): number {
  const scorer = SCORERS[metric];
  if (!scorer) throw new Error(`no scorer for metric "${metric}"`);
  const score = scorer(predict, reference);
  return Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : 0;
}
