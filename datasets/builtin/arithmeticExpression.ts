/**
 * The expressions both arithmetic built-ins ask about: `a + b` and `a - b` with operands 2..999,
 * `a * b` with operands 2..99, so every result is an exact integer well inside 2^53.
 */
import type { Prng } from '../prng';

export type Operator = '+' | '-' | '*';

export interface ArithmeticExpression {
  a: number;
  op: Operator;
  b: number;
  value: number;
}

const OPERATORS: readonly Operator[] = ['+', '-', '*'];

export function drawExpression(prng: Prng): ArithmeticExpression {
  const op = prng.pick(OPERATORS);
  const max = op === '*' ? 99 : 999;
  const a = prng.int(2, max);
  const b = prng.int(2, max);
  return { a, op, b, value: evaluate(a, op, b) };
}

export function evaluate(a: number, op: Operator, b: number): number {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}
