import { describe, expect, it } from 'vitest';
import { answerStatements, finalLine, normalizeAnswer } from '../../scoring/normalizeAnswer';
import { extractChoice } from '../../scoring/extractChoice';
import { extractFinalNumber, numbersIn, parseNumber } from '../../scoring/extractNumber';

describe('normalizeAnswer', () => {
  it.each([
    ['  Hello   World \n', 'hello world'],
    ['"Paris."', 'paris'],
    ['"**olleh**".', 'olleh'],
    ['‘quoted’', 'quoted'],
    ['«guillemets»', 'guillemets'],
    ['_italic_', 'italic'],
    ['ﬁne', 'fine'], // ligature, NFKC
    ['U.S.', 'u.s'],
    ['3.50', '3.50'], // a decimal point is not a trailing period
    ['"unbalanced', '"unbalanced'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });
});

describe('answerStatements and finalLine', () => {
  it('finds every answer statement in order, with the rest of its line', () => {
    expect(answerStatements('Answer: A\nsome text\nThe answer is B because of x.\nFinal answer: **C**')).toEqual([
      'A',
      'B because of x.',
      'C',
    ]);
  });

  it('does not take the instruction "Answer with the letter" for a statement', () => {
    expect(answerStatements('Answer with the letter of the correct option.')).toEqual([]);
  });

  it('finalLine skips trailing blank lines', () => {
    expect(finalLine('a\nb  \n\n  \n')).toBe('b');
    expect(finalLine('')).toBe('');
  });
});

describe('extractChoice', () => {
  const choices = ['17', '19', '20', '21'];
  it('reports ambiguity with the letters offered', () => {
    expect(extractChoice('Answer: B or C', choices)).toEqual({ kind: 'ambiguous', letters: ['B', 'C'] });
    expect(extractChoice('The answer is A.\nAnswer: D', choices)).toEqual({ kind: 'ambiguous', letters: ['A', 'D'] });
  });

  it('prefers an answer statement to letters elsewhere in the output', () => {
    expect(extractChoice('A. 17\nB. 19\nC. 20\nD. 21\nAnswer: C', choices)).toEqual({ kind: 'letter', letter: 'C' });
  });

  it('reads up to Z when no choices are given', () => {
    expect(extractChoice('(Z)')).toEqual({ kind: 'letter', letter: 'Z' });
    expect(extractChoice('no letter here')).toEqual({ kind: 'none' });
  });
});

describe('numbers', () => {
  it('reads signs, thousands groups, decimals and exponents, and not hyphens', () => {
    expect(numbersIn('x = -3, y = 1,234.5, z = 2.5e-3, range 3-5, COVID-19, .75, +8')).toEqual([
      -3, 1234.5, 0.0025, 3, 5, 19, 0.75, 8,
    ]);
  });

  it('takes the stated answer over later numbers, else the last number', () => {
    expect(extractFinalNumber('The answer is 42 (6 * 7)', answerStatements('The answer is 42 (6 * 7)'))).toBe(42);
    expect(extractFinalNumber('6 * 7 = 42', [])).toBe(42);
    expect(extractFinalNumber('none', [])).toBeNull();
  });

  it('parseNumber accepts exactly one number and nothing else', () => {
    expect(parseNumber(' -1,234.50 ')).toBe(-1234.5);
    expect(parseNumber('1e3')).toBe(1000);
    expect(parseNumber('+7')).toBe(7);
    for (const bad of ['', '-', 'e5', '1.', '1,23', '12 apples', 'NaN', 'Infinity', '0x10', '1/2'])
      expect(parseNumber(bad)).toBeNull();
  });
});
