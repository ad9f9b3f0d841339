import { answerStatements } from '../normalizeAnswer';
import { extractFinalNumber, parseNumber } from '../extractNumber';
import type { MetricOptions } from '../../contracts/metricOptions';
import type { ScoreReference } from '../scorer';

export const DEFAULT_RELATIVE_TOLERANCE = 1e-6;
export const DEFAULT_ABSOLUTE_TOLERANCE = 1e-9;

/**
 * numeric_match: 1 when the answer number (see extractFinalNumber: the first number of the last
 * answer statement, else the last number of the output) equals the ground truth within
 *
 *   |given − expected| ≤ max(absoluteTolerance, relativeTolerance × max(|given|, |expected|))
 *
 * the rule of Python's math.isclose. The defaults (relative 1e-6, absolute 1e-9) forgive float
 * printing ("0.30000000000000004" for 0.3) and nothing a reader would call a different answer;
 * a dataset of rounded results sets its own (absoluteTolerance 0.01 for cents). A ground truth
 * that is not a number scores 0; datasets are validated against that at registration.
 */
export function numericMatch(predict: string, { ground_truth }: ScoreReference, options: MetricOptions): number {
  const relative = options.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE;
  const absolute = options.absoluteTolerance ?? DEFAULT_ABSOLUTE_TOLERANCE;
  // Registration validates options against MetricOptions; a bad value here is a programming error.
  if (!(relative >= 0) || !(absolute >= 0))
    throw new RangeError(`tolerances must be numbers ≥ 0, got relative ${relative}, absolute ${absolute}`);
  const expected = parseNumber(ground_truth);
  const given = extractFinalNumber(predict, answerStatements(predict));
  if (expected === null || given === null) return 0;
  const tolerance = Math.max(absolute, relative * Math.max(Math.abs(expected), Math.abs(given)));
  return Math.abs(given - expected) <= tolerance ? 1 : 0;
}
