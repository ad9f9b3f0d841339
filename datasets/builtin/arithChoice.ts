/**
 * `arith-mc`: the same arithmetic as four-option multiple choice. Wrong options are the slips a
 * person or model makes (off by one or two, a carried ten or hundred, a sign flipped, an operand
 * off by one in a product), so the right option cannot be spotted by its shape.
 */
import type { DatasetItem } from '../../contracts/dataset';
import { Prng } from '../prng';
import { drawExpression, type ArithmeticExpression } from './arithmeticExpression';
import { builtinItemId } from './itemIds';

export const ARITH_MC_ID = 'arith-mc';
const SEED = 0x0a11_0002;
const LETTERS = ['A', 'B', 'C', 'D'] as const;

export function generateArithChoice(size: number): DatasetItem[] {
  const prng = new Prng(SEED);
  return Array.from({ length: size }, (_, i) => {
    const expression = drawExpression(prng);
    const options = distractors(expression, prng).map(String);
    const correct = prng.int(0, LETTERS.length - 1);
    options.splice(correct, 0, String(expression.value));
    const { a, op, b } = expression;
    return {
      id: builtinItemId(ARITH_MC_ID, i),
      prompt:
        `Which of the following equals ${a} ${op} ${b}?\n` +
        options.map((text, k) => `${LETTERS[k]}. ${text}\n`).join('') +
        'Answer with the letter of the correct option.',
      ground_truth: LETTERS[correct]!,
      choices: options,
    };
  });
}

/** Three distinct wrong values, in a shuffled order. */
function distractors({ a, op, b, value }: ArithmeticExpression, prng: Prng): number[] {
  const slips = [value - 1, value + 1, value - 2, value + 2, value - 10, value + 10, value - 100, value + 100];
  if (op === '-') slips.push(-value);
  if (op === '*') slips.push(value - a, value + a, value - b, value + b);
  const candidates = [...new Set(slips)].filter((v) => v !== value);
  for (let k = candidates.length - 1; k > 0; k--) {
    const j = prng.int(0, k);
    [candidates[k], candidates[j]] = [candidates[j]!, candidates[k]!];
  }
  return candidates.slice(0, LETTERS.length - 1);
}
