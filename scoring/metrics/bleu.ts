import { bleuTokens } from '../tokenize';
import { referencesOf } from '../references';
import type { ScoreReference } from '../scorer';

const MAX_ORDER = 4;

/**
 * bleu: sentence BLEU-4 in [0, 1], computed as sacreBLEU's sentence_bleu does with its defaults,
 * so that score × 100 is the number sacreBLEU prints for the same pair:
 *
 *   - tokens: bleuTokens (the 13a tokenizer), case-sensitive;
 *   - modified n-gram precision for n = 1…4, each n-gram's count clipped to the most times it
 *     occurs in any one reference (see referencesOf for several references);
 *   - brevity penalty exp(1 − r/c) when the output length c is below r, the reference length
 *     closest to c (the shorter one on a tie);
 *   - smoothing "exp", method 3 of Chen & Cherry (2014), the NIST/mteval one: the k-th order
 *     with no match gets precision 1 / (2^k × its n-gram count) instead of 0;
 *   - effective order: an output shorter than 4 tokens is scored on the orders it has
 *     (a 2-token output on unigrams and bigrams), not sent to 0 by empty orders;
 *   - no unigram match at all scores 0.
 *
 * One deviation: an empty output against an empty reference scores 1 here (sacreBLEU says 0);
 * an empty output otherwise, or any output against only empty references, scores 0.
 */
export function bleu(predict: string, { ground_truth }: ScoreReference): number {
  return sentenceBleu(bleuTokens(predict), referencesOf(ground_truth).map(bleuTokens));
}

export function sentenceBleu(output: readonly string[], references: readonly (readonly string[])[]): number {
  if (output.length === 0) return references.some((r) => r.length === 0) ? 1 : 0;

  const longest = new Map<string, number>();
  for (const reference of references) {
    for (const [gram, count] of ngramCounts(reference)) longest.set(gram, Math.max(count, longest.get(gram) ?? 0));
  }
  const matched = new Array<number>(MAX_ORDER).fill(0);
  for (const [gram, count] of ngramCounts(output)) {
    matched[orderOf(gram) - 1]! += Math.min(count, longest.get(gram) ?? 0);
  }
  if (matched[0] === 0) return 0;

  let smoothing = 1;
  let logSum = 0;
  let orders = 0;
  for (let n = 1; n <= MAX_ORDER && n <= output.length; n++) {
    const total = output.length - n + 1;
    const precision = matched[n - 1]! > 0 ? matched[n - 1]! / total : 1 / ((smoothing *= 2) * total);
    logSum += Math.log(precision);
    orders = n;
  }
  const referenceLength = closestLength(output.length, references);
  const brevity = output.length < referenceLength ? Math.exp(1 - referenceLength / output.length) : 1;
  return brevity * Math.exp(logSum / orders);
}

// Tokens never contain whitespace, so a space joins an n-gram's tokens unambiguously.
function ngramCounts(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= MAX_ORDER; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const gram = tokens.slice(i, i + n).join(' ');
      counts.set(gram, (counts.get(gram) ?? 0) + 1);
    }
  }
  return counts;
}

function orderOf(gram: string): number {
  let n = 1;
  for (let i = gram.indexOf(' '); i !== -1; i = gram.indexOf(' ', i + 1)) n++;
  return n;
}

function closestLength(length: number, references: readonly (readonly string[])[]): number {
  let best = references[0]!.length;
  for (const { length: candidate } of references) {
    const closer = Math.abs(candidate - length) < Math.abs(best - length);
    const tieShorter = Math.abs(candidate - length) === Math.abs(best - length) && candidate < best;
    if (closer || tieShorter) best = candidate;
  }
  return best;
}
