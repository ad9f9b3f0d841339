/**
 * Deterministic, meaning-preserving noise on a prompt, for the robustness pass: the same prompt
 * asked with the surface a careless human might give it. Nothing is paraphrased; only characters
 * change, never inside a protected span (protectedSpans.ts: numbers, {placeholders}, code,
 * quoted text). The random stream is a function of (run seed, item id, kind) only
 * (perturbationSeed.ts), so a retried or resumed run asks exactly the same perturbed prompts.
 *
 * Kinds and their default rates (the chance that one eligible unit is changed):
 *   case        0.15  per cased letter: upper ↔ lower
 *   typos       0.05  per letter of a word of 4+ letters, its first letter excepted: swap with the
 *                     next letter, drop it, or replace it by a QWERTY neighbour (a third each)
 *   whitespace  0.20  per whitespace character: one or two spaces added after it. Whitespace is
 *                     only ever added, never removed, so "12 7" can never become "127"
 *   char_noise  0.03  per letter of a word of 4+ letters, its first letter excepted: a look-alike
 *                     letter from another script (a → а Cyrillic), or else a stray mark after it
 *   mixed             all four in that order, each at its own rate and with its own stream
 * Letters of other scripts take part where the operation makes sense for them (swaps and drops,
 * case where the script has case); text is handled by code point, so surrogate pairs stay whole.
 */
import type { Prng } from '../../datasets/prng';
import { perturbationPrng } from './perturbationSeed';
import { protectedMask } from './protectedSpans';

export const PERTURBATION_KINDS = ['case', 'typos', 'whitespace', 'char_noise', 'mixed'] as const;
export type PerturbationKind = (typeof PERTURBATION_KINDS)[number];
type SimpleKind = Exclude<PerturbationKind, 'mixed'>;

export const PERTURBATION_RATES: Readonly<Record<SimpleKind, number>> = Object.freeze({
  case: 0.15,
  typos: 0.05,
  whitespace: 0.2,
  char_noise: 0.03,
});

export interface PerturbOptions {
  runSeed: number;
  itemId: string;
  kind: PerturbationKind;
  /** Overrides the kind's rate (for `mixed`, every kind's). */
  rate?: number;
  /** More spans to leave alone, beyond the built-in ones. */
  protect?: readonly RegExp[];
}

export interface Perturbation {
  text: string;
  kind: PerturbationKind;
  /** Units that could have been changed, and those that were (summed over kinds for `mixed`). */
  eligible: number;
  edits: number;
}

export function perturbPrompt(text: string, o: PerturbOptions): Perturbation {
  if (o.rate !== undefined && !(o.rate >= 0 && o.rate <= 1))
    throw new RangeError(`rate must be within [0, 1], got ${o.rate}`);
  if (o.kind !== 'mixed') {
    const prng = perturbationPrng(o.runSeed, o.itemId, o.kind);
    return { kind: o.kind, ...APPLY[o.kind](text, o.rate ?? PERTURBATION_RATES[o.kind], prng, o.protect ?? []) };
  }
  let current = text;
  let eligible = 0;
  let edits = 0;
  for (const kind of ['case', 'typos', 'whitespace', 'char_noise'] as const) {
    const prng = perturbationPrng(o.runSeed, o.itemId, `mixed/${kind}`);
    const step = APPLY[kind](current, o.rate ?? PERTURBATION_RATES[kind], prng, o.protect ?? []);
    current = step.text;
    eligible += step.eligible;
    edits += step.edits;
  }
  return { text: current, kind: 'mixed', eligible, edits };
}

type Apply = (text: string, rate: number, prng: Prng, protect: readonly RegExp[]) => Omit<Perturbation, 'kind'>;

interface Char {
  ch: string;
  protected: boolean;
}

/** The text by code point, each marked protected if any of its code units is. */
function chars(text: string, protect: readonly RegExp[]): Char[] {
  const mask = protectedMask(text, protect);
  const out: Char[] = [];
  let offset = 0;
  for (const ch of text) {
    out.push({ ch, protected: mask[offset] === true || (ch.length === 2 && mask[offset + 1] === true) });
    offset += ch.length;
  }
  return out;
}

const LETTER = /^\p{L}$/u;
const WHITESPACE = /^\s$/u;

/** The one-code-point opposite case of a letter, or null when it has none (or not one code point). */
function flipCase(ch: string): string | null {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower === upper || [...lower].length !== 1 || [...upper].length !== 1) return null;
  const flipped = ch === lower ? upper : lower;
  // Only letters whose case round-trips ("İ" lowers to two code points, "ſ" uppers to "S").
  return flipped !== ch && (ch === lower ? flipped.toLowerCase() === ch : flipped.toUpperCase() === ch)
    ? flipped
    : null;
}

const applyCase: Apply = (text, rate, prng, protect) => {
  let eligible = 0;
  let edits = 0;
  const out = chars(text, protect).map(({ ch, protected: locked }) => {
    const flipped = locked ? null : flipCase(ch);
    if (flipped === null) return ch;
    eligible++;
    if (prng.next() >= rate) return ch;
    edits++;
    return flipped;
  });
  return { text: out.join(''), eligible, edits };
};

/**
 * Positions of letters that typos and character noise may touch: inside unprotected words of at
 * least four letters, never a word's first letter (readers and models lean on it most).
 */
function wordInteriors(cs: Char[]): boolean[] {
  const ok = new Array<boolean>(cs.length).fill(false);
  for (let i = 0; i < cs.length;) {
    if (!LETTER.test(cs[i]!.ch)) {
      i++;
      continue;
    }
    let j = i;
    let locked = false;
    for (; j < cs.length && LETTER.test(cs[j]!.ch); j++) if (cs[j]!.protected) locked = true;
    if (!locked && j - i >= 4) for (let k = i + 1; k < j; k++) ok[k] = true;
    i = j;
  }
  return ok;
}

/** Keys next to each letter on a QWERTY keyboard: same row, and the touching keys above and below. */
const NEIGHBOURS: Readonly<Record<string, string>> = Object.freeze({
  q: 'wa',
  w: 'qeas',
  e: 'wrsd',
  r: 'etdf',
  t: 'ryfg',
  y: 'tugh',
  u: 'yihj',
  i: 'uojk',
  o: 'ipkl',
  p: 'ol',
  a: 'qwsz',
  s: 'weadzx',
  d: 'erfsxc',
  f: 'rtdgcv',
  g: 'tyfhvb',
  h: 'yugjbn',
  j: 'uihknm',
  k: 'iojlm',
  l: 'opk',
  z: 'asx',
  x: 'sdzc',
  c: 'dfxv',
  v: 'fgcb',
  b: 'ghvn',
  n: 'hjbm',
  m: 'jkn',
});

function neighbourOf(ch: string, prng: Prng): string | null {
  const lower = ch.toLowerCase();
  const keys = NEIGHBOURS[lower];
  if (!keys) return null;
  const key = keys[prng.int(0, keys.length - 1)]!;
  return ch === lower ? key : key.toUpperCase();
}

const applyTypos: Apply = (text, rate, prng, protect) => {
  const cs = chars(text, protect);
  const ok = wordInteriors(cs);
  const out = cs.map((c) => c.ch);
  const eligible = ok.filter(Boolean).length;
  let edits = 0;
  for (let i = 0; i < cs.length; i++) {
    if (!ok[i] || prng.next() >= rate) continue;
    const op = prng.int(0, 2);
    const canSwap = ok[i + 1] === true && out[i] !== out[i + 1];
    if (op === 0 && canSwap) {
      [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
      // The next letter has moved; it takes no second typo.
      ok[i + 1] = false;
    } else if (op === 2 && NEIGHBOURS[out[i]!.toLowerCase()] !== undefined) {
      out[i] = neighbourOf(out[i]!, prng)!;
    } else {
      out[i] = '';
    }
    edits++;
  }
  return { text: out.join(''), eligible, edits };
};

const applyWhitespace: Apply = (text, rate, prng, protect) => {
  let eligible = 0;
  let edits = 0;
  const out = chars(text, protect).map(({ ch, protected: locked }) => {
    if (locked || !WHITESPACE.test(ch)) return ch;
    eligible++;
    if (prng.next() >= rate) return ch;
    edits++;
    return ch + ' '.repeat(prng.int(1, 2));
  });
  return { text: out.join(''), eligible, edits };
};

/** Letters with a twin in another script that looks the same in most fonts. */
const LOOK_ALIKES: Readonly<Record<string, string>> = Object.freeze({
  a: 'а',
  c: 'с',
  e: 'е',
  i: 'і',
  j: 'ј',
  o: 'о',
  p: 'р',
  s: 'ѕ',
  x: 'х',
  y: 'у',
  A: 'А',
  B: 'В',
  C: 'С',
  E: 'Е',
  H: 'Н',
  K: 'К',
  M: 'М',
  O: 'О',
  P: 'Р',
  T: 'Т',
  X: 'Х',
  Y: 'Υ',
  Z: 'Ζ',
  N: 'Ν',
});
/** Marks that neither open a protected span (quotes, braces, backticks) nor join a number. */
const STRAY_MARKS = ["'", '-', '*', '_', '~', '^', ';'];

const applyCharNoise: Apply = (text, rate, prng, protect) => {
  const cs = chars(text, protect);
  const ok = wordInteriors(cs);
  const eligible = ok.filter(Boolean).length;
  let edits = 0;
  const out = cs.map(({ ch }, i) => {
    if (!ok[i] || prng.next() >= rate) return ch;
    edits++;
    const twin = LOOK_ALIKES[ch];
    // The mark goes before the letter: never the first letter, so always inside the word.
    return twin !== undefined && prng.next() < 0.5 ? twin : prng.pick(STRAY_MARKS) + ch;
  });
  return { text: out.join(''), eligible, edits };
};

const APPLY: Readonly<Record<SimpleKind, Apply>> = {
  case: applyCase,
  typos: applyTypos,
  whitespace: applyWhitespace,
  char_noise: applyCharNoise,
};
