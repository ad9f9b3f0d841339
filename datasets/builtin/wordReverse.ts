/**
 * `word-reverse`: spell a made-up word backwards. Words are strung from syllables so they look
 * like words (a model cannot lean on a memorised dictionary) and palindromes are left out, since
 * echoing the word back would answer those.
 */
import type { DatasetItem } from '../../contracts/dataset';
import { Prng } from '../prng';
import { builtinItemId } from './itemIds';

export const WORD_REVERSE_ID = 'word-reverse';
const SEED = 0x0a11_0004;

const SYLLABLES = [
  'ba',
  'be',
  'bro',
  'ca',
  'cor',
  'da',
  'den',
  'el',
  'fa',
  'fin',
  'ga',
  'gle',
  'ho',
  'in',
  'ja',
  'ke',
  'la',
  'lin',
  'ma',
  'mon',
  'na',
  'nex',
  'o',
  'pa',
  'per',
  'qui',
  'ra',
  'rum',
  'sa',
  'sto',
  'ta',
  'tri',
  'u',
  'ven',
  'wa',
  'xi',
  'yo',
  'zan',
  'ch',
  'sh',
  'th',
  'ple',
  'ght',
  'str',
];

export function generateWordReverse(size: number): DatasetItem[] {
  const prng = new Prng(SEED);
  return Array.from({ length: size }, (_, i) => {
    const word = drawWord(prng);
    return {
      id: builtinItemId(WORD_REVERSE_ID, i),
      prompt: `Reverse the letters of the word "${word}". Reply with the reversed word only.`,
      ground_truth: [...word].reverse().join(''),
    };
  });
}

function drawWord(prng: Prng): string {
  for (;;) {
    const length = prng.int(3, 10);
    let word = '';
    while (word.length < length) word += prng.pick(SYLLABLES);
    word = word.slice(0, length);
    if ([...word].reverse().join('') !== word) return word;
  }
}
