import { describe, expect, it } from 'vitest';
import { answerPrompt, formatNumber, genericReply, solvePrompt } from '../../stack/referenceModel/solver';

const compute = (a: number, op: string, b: number) => `Compute ${a} ${op} ${b}. Reply with the number only.`;
const choice = (a: number, op: string, b: number, options: number[]) =>
  `Which of the following equals ${a} ${op} ${b}?\n${options.map((o, i) => `${'ABCD'[i]}. ${o}`).join('\n')}\nAnswer with the letter of the correct option.`;
const convert = (v: number | string, from: string, to: string) =>
  `Convert ${v} ${from} to ${to}. Reply with the number only.`;
const reverse = (w: string) => `Reverse the letters of the word "${w}". Reply with the reversed word only.`;

const PICKS = [0, 0.25, 0.49, 0.5, 0.75, 0.999];

describe('solver', () => {
  it('computes arithmetic with +, - and *, negative operands included', () => {
    const cases: [number, string, number, string][] = [
      [12, '+', 7, '19'],
      [3, '-', 10, '-7'],
      [-4, '*', 9, '-36'],
      [-4, '*', -9, '36'],
      [5, '-', -3, '8'],
      [-15, '+', -27, '-42'],
      [0, '*', 123, '0'],
      [987654321, '*', 123456789, '121932631112635269'],
    ];
    for (const [a, op, b, expected] of cases) {
      expect(solvePrompt(compute(a, op, b))?.answer, `${a} ${op} ${b}`).toBe(expected);
    }
    expect(solvePrompt('Compute 5 - (-3). Reply with the number only.')?.answer).toBe('8');
  });

  it('picks the letter of the option equal to the expression', () => {
    expect(solvePrompt(choice(6, '*', 7, [41, 42, 43, 24]))?.answer).toBe('B');
    expect(solvePrompt(choice(-3, '-', 4, [1, 7, -1, -7]))?.answer).toBe('D');
    expect(solvePrompt(choice(10, '+', -2, [8, 12, -8, 20]))?.answer).toBe('A');
    expect(solvePrompt(choice(9, '-', 9, [1, -1, 18, 0]))?.answer).toBe('D');
  });

  it('converts units both ways, without trailing zeros', () => {
    const cases: [number | string, string, string, string][] = [
      [2.5, 'kilometers', 'meters', '2500'],
      [2500, 'meters', 'kilometers', '2.5'],
      [3, 'meters', 'centimeters', '300'],
      [150, 'centimeters', 'meters', '1.5'],
      [0.3, 'kilometers', 'centimeters', '30000'],
      [7, 'centimeters', 'kilometers', '0.00007'],
      [3, 'kilograms', 'grams', '3000'],
      [250, 'grams', 'kilograms', '0.25'],
      [1.5, 'hours', 'minutes', '90'],
      [2, 'hours', 'seconds', '7200'],
      [90, 'minutes', 'hours', '1.5'],
      [45, 'seconds', 'minutes', '0.75'],
      [5400, 'seconds', 'hours', '1.5'],
      [2, 'liters', 'milliliters', '2000'],
      [750, 'milliliters', 'liters', '0.75'],
      [1, 'kilometer', 'meters', '1000'],
    ];
    for (const [v, from, to, expected] of cases) {
      expect(solvePrompt(convert(v, from, to))?.answer, `${v} ${from} → ${to}`).toBe(expected);
    }
  });

  it('reverses a word', () => {
    expect(solvePrompt(reverse('banana'))?.answer).toBe('ananab');
    expect(solvePrompt(reverse('Proctor'))?.answer).toBe('rotcorP');
    expect(solvePrompt(reverse('a'))?.answer).toBe('a');
  });

  it('gives a short deterministic reply to anything else, never an error', () => {
    for (const prompt of [
      'What is the capital of France?',
      '',
      '   ',
      'Convert 5 kilograms to meters. Reply with the number only.',
      'Compute the meaning of life. Reply with the number only.',
    ]) {
      expect(solvePrompt(prompt)).toBeNull();
      const reply = answerPrompt(prompt, { correct: true, verbose: false, pick: 0.3 });
      expect(reply).toMatch(/Proctor reference model/);
      expect(reply).toBe(genericReply(prompt));
      expect(answerPrompt(prompt, { correct: false, verbose: true, pick: 0.9 })).toBe(reply);
    }
    expect(genericReply('Tell me a story about dragons')).toContain('"Tell me a story about dragons"');
  });

  it('makes plausible, reproducible wrong answers that are never right', () => {
    const prompts = [
      compute(12, '+', 7),
      compute(-4, '*', 9),
      choice(6, '*', 7, [41, 42, 43, 24]),
      convert(2.5, 'kilometers', 'meters'),
      convert(0, 'liters', 'milliliters'),
      reverse('banana'),
      reverse('level'),
      reverse('aaa'),
      reverse('x'),
    ];
    for (const prompt of prompts) {
      const solution = solvePrompt(prompt)!;
      for (const pick of PICKS) {
        const wrong = answerPrompt(prompt, { correct: false, verbose: false, pick });
        expect(wrong, prompt).not.toBe(solution.answer);
        expect(answerPrompt(prompt, { correct: false, verbose: false, pick })).toBe(wrong);
      }
    }
    // Off by one, another option, a decimal slip, two letters swapped.
    expect(['18', '20']).toContain(answerPrompt(compute(12, '+', 7), { correct: false, verbose: false, pick: 0.7 }));
    expect(['A', 'C', 'D']).toContain(
      answerPrompt(choice(6, '*', 7, [41, 42, 43, 24]), { correct: false, verbose: false, pick: 0.7 }),
    );
    expect(['25000', '250']).toContain(
      answerPrompt(convert(2.5, 'kilometers', 'meters'), { correct: false, verbose: false, pick: 0.7 }),
    );
    const misspelt = answerPrompt(reverse('banana'), { correct: false, verbose: false, pick: 0.7 });
    expect([...misspelt].sort().join('')).toBe([...'ananab'].sort().join(''));
  });

  it('explains itself in verbose mode and ends with "Answer: X"', () => {
    const right = answerPrompt(compute(12, '+', 7), { correct: true, verbose: true, pick: 0 });
    expect(right).toMatch(/\nAnswer: 19$/);
    expect(right.split('\n')[0]).toContain('12 + 7 = 19');
    expect(answerPrompt(choice(6, '*', 7, [41, 42, 43, 24]), { correct: true, verbose: true, pick: 0 })).toMatch(
      /\nAnswer: B$/,
    );
    expect(answerPrompt(convert(250, 'grams', 'kilograms'), { correct: true, verbose: true, pick: 0 })).toMatch(
      /\nAnswer: 0\.25$/,
    );
    expect(answerPrompt(reverse('banana'), { correct: true, verbose: true, pick: 0 })).toMatch(/\nAnswer: ananab$/);
    const wrong = answerPrompt(compute(12, '+', 7), { correct: false, verbose: true, pick: 0 });
    expect(wrong).toMatch(/\nAnswer: 18$/);
  });

  it('formats numbers as plain decimals', () => {
    expect(formatNumber(100.00000000000001)).toBe('100');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(1e-7)).toBe('0.0000001');
    expect(formatNumber(3e21)).toBe('3000000000000000000000');
  });
});
