import { describe, expect, it } from 'vitest';
import { scoreSample } from '../../scoring/metrics';

const bleu = (predict: string, ground_truth: string) => scoreSample('bleu', predict, { ground_truth });
const several = (...references: string[]) => JSON.stringify(references);

describe('bleu against reference values', () => {
  // Expected values: sacrebleu 2.6.0, sentence_bleu(output, references, tokenize='13a').score / 100
  // with its defaults (smooth_method='exp', use_effective_order=True, lowercase=False). Where the
  // output has 4 tokens or more, nltk 3.10.4 sentence_bleu on the same 13a tokens with
  // SmoothingFunction().method3 agrees to 1e-15. Computed once, not at test time.
  it.each<[string, string, number]>([
    ['The cat sat on the mat.', 'The cat is on the mat.', 0.4889230224349009],
    ['The cat is on the mat.', 'The cat is on the mat.', 1],
    ['the cat', 'the cat sat on the mat', 0.13533528323661276], // effective order 2, brevity penalty e^-2
    ['the cat', 'The cat', 0.5], // case-sensitive
    [
      'It costs $3.50, not 1,000 dollars-ok (roughly).',
      'It costs $3.50 and not 1,000 dollars (roughly).',
      0.4659538415189962,
    ],
    [
      'The quick brown fox jumped over the lazy dog.',
      several('A fast brown fox leaped over the lazy dog.', 'The quick brown fox jumps over the sleepy dog.'),
      0.6580370064762461,
    ],
    ['He said: "I\'d go 3-5 times a week!"', "He said he'd go 3-5 times a week.", 0.47855439210937384],
    ['AT&amp;T announced results', 'AT&T announced its results', 0.57893006746741],
    ['apple banana cherry date', 'one two three four', 0],
    [
      'completely different words here and some more words too',
      'completely unrelated sentence with words',
      0.05669791110976001,
    ],
    ['Paris', 'Paris', 1],
  ])('%j vs %j → %d', (predict, truth, expected) => {
    expect(bleu(predict, truth)).toBeCloseTo(expected, 12);
  });

  // Expected values: sacrebleu 2.6.0, sentence_bleu(output, [reference], tokenize='zh').score / 100.
  // Chinese characters are tokens here whatever the tokenizer, as in sacreBLEU's "zh".
  it.each<[string, string, number]>([
    ['我喜欢吃苹果。', '我很喜欢吃苹果。', 0.7289545183625967],
    ['今天天气很好，我们去公园散步吧。', '今天天气不错，我们一起去公园散步。', 0.4402004976281389],
  ])('Chinese: %j vs %j → %d', (predict, truth, expected) => {
    expect(bleu(predict, truth)).toBeCloseTo(expected, 12);
  });
});

describe('bleu edge cases', () => {
  it('scores an empty output 1 against an empty reference and 0 otherwise', () => {
    expect(bleu('', '')).toBe(1);
    expect(bleu(' \n ', '')).toBe(1);
    expect(bleu('', 'Paris')).toBe(0);
    expect(bleu('Paris', '')).toBe(0);
  });

  it('reads full-width characters as their ASCII forms', () => {
    expect(bleu('Ｔｈｅ　ｃａｔ！', 'The cat!')).toBe(1);
  });

  it('stays within [0, 1] and is 1 only for a perfect output', () => {
    const reference = 'The committee approved the budget on Tuesday after a long debate.';
    const outputs = [
      'The committee approved the budget on Tuesday.',
      'the committee approved the budget on tuesday after a long debate.',
      reference + ' Really.',
    ];
    for (const output of outputs) {
      const score = bleu(output, reference);
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);
    }
    expect(bleu(reference, reference)).toBe(1);
  });
});
