/**
 * Word tokens for the overlap metrics. Each metric keeps the tokenization of the tool its numbers
 * are usually compared with, so that on English text a score here equals the score there:
 *
 *   answerTokens (f1)   the SQuAD evaluation's normalisation: lower-case, drop punctuation and
 *                       symbols ("don't" → "dont", "$5" → "5"), drop the articles a / an / the,
 *                       split on whitespace.
 *   wordTokens (rouge_l) the rouge-score package's: lower-case, every run of letters and digits
 *                       is a token and anything else separates them ("don't" → "don", "t").
 *   bleuTokens (bleu)   sacreBLEU's default "13a" (mteval-v13a) tokenizer: case kept, most ASCII
 *                       punctuation split off as tokens of its own, but "." and "," stay inside
 *                       numbers ("3.5", "1,000"), and "'" and "-" stay inside words.
 *
 * Where those tools are ASCII-only this module is not, on purpose, since datasets here are also
 * Chinese, Japanese and accented European text. Every tokenizer first applies Unicode NFKC (so
 * full-width "Ａ，１" is "A,1", as in normalizeAnswer), and then:
 *   - a Han ideograph, hiragana or katakana character is a token by itself: those scripts do not
 *     put spaces between words, and character tokens are what Chinese BLEU (sacreBLEU's "zh"
 *     tokenizer) and Chinese reading-comprehension F1 use. Hangul is spaced, so stays word-based;
 *   - "letters" and "punctuation" mean the Unicode categories (L, M, N; P, S), not ASCII
 *     ranges. rouge-score would drop "é" from "café"; here "café" is one token. In bleu, non-ASCII
 *     punctuation and symbols ("。", "«", "€") are split off like ASCII ones.
 */

const CJK_CHARACTER = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])/gu;
const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the']);

function prepare(text: string): string {
  return text.normalize('NFKC').replace(CJK_CHARACTER, ' $1 ');
}

export function answerTokens(text: string): string[] {
  return prepare(text)
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .split(/\s+/u)
    .filter((token) => token !== '' && !ARTICLES.has(token));
}

export function wordTokens(text: string): string[] {
  return prepare(text)
    .toLowerCase()
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter((token) => token !== '');
}

/**
 * The 13a rules, in their order: undo line-break hyphenation and the four HTML entities mteval
 * reads, then split off the ASCII punctuation `!"#$%&()*+/:;<=>?@[\]^_`{|}~`, then "." and ","
 * unless between digits on that side, then "-" after a digit ("3-5" → "3 - 5").
 */
const THIRTEEN_A: readonly (readonly [RegExp, string])[] = [
  [/[{-~[-`\x20-&(-+:-@/]/g, ' $& '],
  [/([^0-9])([.,])/g, '$1 $2 '],
  [/([.,])([^0-9])/g, ' $1 $2'],
  [/([0-9])(-)/g, '$1 $2 '],
];
const NON_ASCII_PUNCTUATION = /(?![\x00-\x7f])[\p{P}\p{S}]/gu;

export function bleuTokens(text: string): string[] {
  let s = text
    .replace(/<skipped>/g, '')
    .replace(/-\n/g, '')
    .replace(/\n/g, ' ');
  if (s.includes('&'))
    s = s
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  s = ` ${prepare(s).replace(NON_ASCII_PUNCTUATION, ' $& ')} `;
  for (const [pattern, replacement] of THIRTEEN_A) s = s.replace(pattern, replacement);
  return s.split(/\s+/u).filter((token) => token !== '');
}
