import { describe, expect, it } from 'vitest';
import { answerTokens, approximateTokens, identityField } from '../../activities/inference/tokenCount';
import { ModelIdentities } from '../../activities/inference/modelIdentities';
import { costOf } from '../../contracts/tokens';

describe('approximateTokens', () => {
  it('counts a token per four characters of alphabetic text, rounded up, and none for nothing', () => {
    expect(approximateTokens('')).toBe(0);
    expect(approximateTokens('a')).toBe(1);
    expect(approximateTokens('abcd')).toBe(1);
    expect(approximateTokens('abcde')).toBe(2);
    expect(approximateTokens('The capital of France is Paris.')).toBe(8);
  });

  it('counts each CJK character, kana and Hangul syllable as a token of its own', () => {
    expect(approximateTokens('你好世界')).toBe(4);
    expect(approximateTokens('こんにちは')).toBe(5);
    expect(approximateTokens('안녕')).toBe(2);
    // Mixed: four CJK characters, then "ok!" (3 characters: one token).
    expect(approximateTokens('你好世界ok!')).toBe(5);
  });

  it('counts an astral character (an emoji) as one character, not two', () => {
    expect(approximateTokens('😀😀😀😀')).toBe(1);
  });
});

describe('answerTokens', () => {
  it('takes the usage the endpoint reported, marked reported', () => {
    expect(answerTokens({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }, 'asked', 'answer')).toEqual({
      promptTokens: 12,
      completionTokens: 3,
      counted: false,
    });
  });

  it('counts what the usage lacks or gives as nonsense, and marks the answer counted', () => {
    expect(answerTokens(undefined, 'abcdefgh', 'abc')).toEqual({ promptTokens: 2, completionTokens: 1, counted: true });
    expect(answerTokens(null, 'abcdefgh', '')).toEqual({ promptTokens: 2, completionTokens: 0, counted: true });
    expect(answerTokens({ completion_tokens: 7 }, 'abcdefgh', 'x')).toEqual({
      promptTokens: 2,
      completionTokens: 7,
      counted: true,
    });
    expect(answerTokens({ prompt_tokens: -1, completion_tokens: 2.5 }, 'abcd', 'abcd')).toEqual({
      promptTokens: 1,
      completionTokens: 1,
      counted: true,
    });
  });
});

describe('identityField', () => {
  it('keeps non-empty text and nothing else', () => {
    expect(identityField('gpt-x')).toBe('gpt-x');
    expect(identityField('')).toBeNull();
    expect(identityField(42)).toBeNull();
    expect(identityField(null)).toBeNull();
  });
});

describe('ModelIdentities', () => {
  it('keeps each model/fingerprint pair once, with when it was first seen, and ignores answers carrying neither', () => {
    const seen = new ModelIdentities();
    const t0 = new Date(1000);
    const t1 = new Date(2000);
    seen.seen({ model: 'm', systemFingerprint: null }, t0);
    seen.seen({ model: null, systemFingerprint: null }, t0);
    seen.seen({ model: 'm', systemFingerprint: null }, t1);
    seen.seen({ model: 'm', systemFingerprint: 'fp2' }, t1);
    expect(seen.list()).toEqual([
      { model: 'm', systemFingerprint: null, firstSeenAt: t0 },
      { model: 'm', systemFingerprint: 'fp2', firstSeenAt: t1 },
    ]);
  });
});

describe('costOf', () => {
  it('prices prompt and completion tokens per million, and gives null without prices', () => {
    expect(costOf({ inputPerMillion: 2, outputPerMillion: 8 }, 1_000_000, 500_000)).toBe(6);
    expect(costOf({ inputPerMillion: 0.5, outputPerMillion: 1.5 }, 2000, 1000)).toBeCloseTo(0.0025, 12);
    expect(costOf(null, 10, 10)).toBeNull();
  });
});
