import { describe, expect, it } from 'vitest';
import { answerTokens, bleuTokens, wordTokens } from '../../scoring/tokenize';
import { referencesOf } from '../../scoring/references';

describe('bleuTokens', () => {
  // Expected tokens: sacrebleu 2.6.0, Tokenizer13a()(text).split().
  it.each<[string, string[]]>([
    [
      'It costs $3.50, not 1,000 dollars-ok (roughly).',
      ['It', 'costs', '$', '3.50', ',', 'not', '1,000', 'dollars-ok', '(', 'roughly', ')', '.'],
    ],
    [
      'He said: "I\'d go 3-5 times a week!"',
      ['He', 'said', ':', '"', "I'd", 'go', '3', '-', '5', 'times', 'a', 'week', '!', '"'],
    ],
    ['AT&amp;T', ['AT', '&', 'T']],
    ['e.g. U.S.A. 1.5,2', ['e', '.', 'g', '.', 'U', '.', 'S', '.', 'A', '.', '1.5,2']],
    ['a-\nb', ['ab']],
  ])('%j is tokenized as sacreBLEU 13a does', (text, tokens) => {
    expect(bleuTokens(text)).toEqual(tokens);
  });

  it('splits Chinese characters and non-ASCII punctuation into tokens of their own', () => {
    expect(bleuTokens('我喜欢GPT-4。')).toEqual(['我', '喜', '欢', 'GPT-4', '。']);
    expect(bleuTokens('«Bonjour»')).toEqual(['«', 'Bonjour', '»']);
    expect(bleuTokens('')).toEqual([]);
  });
});

describe('answerTokens and wordTokens', () => {
  it('answerTokens drops case, punctuation, symbols and English articles', () => {
    expect(answerTokens("The U.S. isn't a $5 state!")).toEqual(['us', 'isnt', '5', 'state']);
    expect(answerTokens('Theatre of an Anthem')).toEqual(['theatre', 'of', 'anthem']); // articles only as whole words
  });

  it('wordTokens drops case and splits at anything that is not a letter or digit', () => {
    expect(wordTokens("Don't stop-believing, OK?")).toEqual(['don', 't', 'stop', 'believing', 'ok']);
    expect(wordTokens('Ünïcödé naïve café_au_lait')).toEqual(['ünïcödé', 'naïve', 'café', 'au', 'lait']);
  });

  it('both make one token of each Han or kana character, and keep Hangul words whole', () => {
    expect(wordTokens('東京タワー 한국어 문장')).toEqual(['東', '京', 'タ', 'ワ', 'ー', '한국어', '문장']);
    expect(answerTokens('東京、タワー')).toEqual(['東', '京', 'タ', 'ワ', 'ー']);
  });
});

describe('referencesOf', () => {
  it.each<[string, string[]]>([
    ['Paris', ['Paris']],
    ['["Denver Broncos", "the Broncos"]', ['Denver Broncos', 'the Broncos']],
    [' ["one"] \n', ['one']],
    ['[]', ['[]']], // no reference at all is not a reading of "[]"
    ['[1, 2]', ['[1, 2]']],
    ['["a", 2]', ['["a", 2]']],
    ['[citation needed]', ['[citation needed]']],
    ['"quoted"', ['"quoted"']],
  ])('%j → %j', (groundTruth, references) => {
    expect(referencesOf(groundTruth)).toEqual(references);
  });
});
