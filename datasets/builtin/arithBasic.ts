/** `arith-basic`: free-form integer arithmetic, answered with the number alone. */
import type { DatasetItem } from '../../contracts/dataset';
import { Prng } from '../prng';
import { drawExpression } from './arithmeticExpression';
import { builtinItemId } from './itemIds';

export const ARITH_BASIC_ID = 'arith-basic';
const SEED = 0x0a11_0001;

export function generateArithBasic(size: number): DatasetItem[] {
  const prng = new Prng(SEED);
  return Array.from({ length: size }, (_, i) => {
    const { a, op, b, value } = drawExpression(prng);
    return {
      id: builtinItemId(ARITH_BASIC_ID, i),
      prompt: `Compute ${a} ${op} ${b}. Reply with the number only.`,
      ground_truth: String(value),
    };
  });
}
