import { describe, expect, it } from 'vitest';
import { scoreSample } from '../../scoring/metrics';

const f1 = (predict: string, ground_truth: string) => scoreSample('f1', predict, { ground_truth });
const several = (...references: string[]) => JSON.stringify(references);

describe('f1 against reference values', () => {
  // Expected values: transformers 4.57.6, transformers.data.metrics.squad_metrics.compute_f1(gold, pred)
  // (the official SQuAD 2.0 evaluation rule), the maximum over the references; confirmed by a
  // separate Python 3.11 implementation of the same rule. Computed once, not at test time.
  it.each<[string, string, number]>([
    ['the Denver Broncos', 'Denver Broncos', 1],
    ['Broncos won the game', 'Denver Broncos', 0.4],
    ["It's $3.5 million dollars!", '3.5 million', 0.6666666666666666],
    ['x x y', 'x y y', 0.6666666666666666], // a repeated token counts as often as both sides have it
    ['PARIS, France', 'paris', 0.6666666666666666],
    ['Broncos', several('Denver Broncos', 'the Broncos'), 1],
    ['Carolina Panthers beat Denver', several('Denver Broncos', 'Carolina Panthers'), 0.6666666666666666],
    [
      'The quick brown fox jumps over the lazy dog near the river bank',
      'A quick brown dog jumps over the lazy fox by the river',
      0.8421052631578948,
    ],
    ['', 'Paris', 0],
    ['Paris', '', 0],
    ['', '', 1],
    ['the', 'an', 1], // both are empty once articles go: SQuAD 2.0 calls that a match
    ['...', 'Paris', 0],
  ])('%j vs %j → %d', (predict, truth, expected) => {
    expect(f1(predict, truth)).toBeCloseTo(expected, 12);
  });
});

describe('f1 beyond ASCII (values worked by hand from the documented tokenization)', () => {
  it('keeps accents: "café" and "cafe" are different tokens', () => {
    expect(f1('Café au lait', 'cafe au lait')).toBeCloseTo(2 / 3, 12);
  });

  it('counts each Chinese character as a token', () => {
    // 8 output characters, 2 reference characters, 2 shared: P = 1/4, R = 1, F1 = 0.4
    expect(f1('北京是中国的首都', '北京')).toBeCloseTo(0.4, 12);
    expect(f1('北京。', '北京')).toBe(1);
  });

  it('reads full-width text and Unicode punctuation as their plain forms', () => {
    expect(f1('ＰＡＲＩＳ！', 'paris')).toBe(1);
    expect(f1('“Paris” (France)', 'paris france')).toBe(1);
    expect(f1('¡Olé!', 'olé')).toBe(1);
  });
});

describe('f1 over the whole output', () => {
  it('scores the explanation too, as every published F1 does', () => {
    // tokens: answer, paris | paris → P = 1/2, R = 1
    expect(f1('Answer: Paris', 'Paris')).toBeCloseTo(2 / 3, 12);
  });
});
