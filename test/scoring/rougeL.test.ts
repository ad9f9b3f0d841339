import { describe, expect, it } from 'vitest';
import { scoreSample } from '../../scoring/metrics';
import { lcsLength } from '../../scoring/metrics/rougeL';

const rougeL = (predict: string, ground_truth: string) => scoreSample('rouge_l', predict, { ground_truth });
const several = (...references: string[]) => JSON.stringify(references);

describe('rouge_l against reference values', () => {
  // Expected values: rouge-score 0.1.2, RougeScorer(['rougeL'], use_stemmer=False).score(reference,
  // output).fmeasure, and score_multi(references, output) for several references. Computed once.
  it.each<[string, string, number]>([
    ['the cat sat on the mat', 'the cat is on the mat', 0.8333333333333334],
    ['police killed the gunman', 'the gunman killed police', 0.5],
    ["Don't stop-believing, OK?", 'do not stop believing', 0.4444444444444445],
    ['THE CAT', 'the cat sat', 0.8],
    ['It costs 3.5 million', 'The cost was 3.5 million dollars', 0.5],
    ['the gunman was killed', several('police killed the gunman', 'the gunman was shot by police'), 0.6],
    [
      'Scientists found that the new drug reduced symptoms in most patients, although side effects were common.',
      'The new drug reduced symptoms for most patients but often caused side effects, researchers found.',
      0.5806451612903225,
    ],
    ['a b c d e f', 'f e d c b a', 0.16666666666666666],
    ['nothing in common', 'entirely different words', 0],
  ])('%j vs %j → %d', (predict, truth, expected) => {
    expect(rougeL(predict, truth)).toBeCloseTo(expected, 12);
  });
});

describe('rouge_l edge cases (worked by hand)', () => {
  it('scores empty text 1 only against empty text', () => {
    expect(rougeL('', '')).toBe(1);
    expect(rougeL('  !? ', '')).toBe(1); // punctuation alone has no tokens
    expect(rougeL('', 'the cat')).toBe(0);
    expect(rougeL('the cat', '')).toBe(0);
  });

  it('keeps accented words whole (rouge-score would drop the accented letters)', () => {
    // [café, crème] against [café, crème, brûlée]: LCS 2, P = 1, R = 2/3, F = 0.8
    expect(rougeL('café crème', 'Café Crème brûlée')).toBeCloseTo(0.8, 12);
  });

  it('compares Chinese character by character', () => {
    // [我 喜 欢 苹 果] against [我 很 喜 欢 苹 果]: LCS 5, P = 1, R = 5/6, F = 10/11
    expect(rougeL('我喜欢苹果', '我很喜欢苹果')).toBeCloseTo(10 / 11, 12);
  });

  it('finds the longest common subsequence, not the longest common run', () => {
    expect(lcsLength(['a', 'x', 'b', 'y', 'c'], ['a', 'b', 'c'])).toBe(3);
    expect(lcsLength(['a', 'b', 'c'], ['c', 'b', 'a'])).toBe(1);
    expect(lcsLength([], ['a'])).toBe(0);
  });
});
