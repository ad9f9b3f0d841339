/**
 * Prompt perturbations and the robustness score: determinism by (run seed, item id, kind),
 * protected spans untouched, rates kept, odd inputs (empty, astral code points, scripts without
 * case), checked as properties with fast-check, plus fixed examples of each kind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  perturbPrompt,
  PERTURBATION_KINDS,
  PERTURBATION_RATES,
  type PerturbationKind,
} from '../../scoring/robustness/perturb';
import { perturbationSeed } from '../../scoring/robustness/perturbationSeed';
import { perturbItems } from '../../scoring/robustness/perturbItems';
import { generateArithBasic } from '../../datasets/builtin/arithBasic';
import { scoreSample } from '../../scoring/metrics';
import { robustnessScore } from '../../scoring/robustness/robustnessScore';

const kind = fc.constantFrom(...PERTURBATION_KINDS);
const seed = fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
const itemId = fc.string({ minLength: 1, maxLength: 20 });
/** Prompt-like text: words, numbers, placeholders, quotes, code, punctuation and other scripts. */
const promptText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'What',
        'is',
        'the',
        'answer',
        'Reverse',
        'letters',
        'word',
        'Reply',
        'number',
        'only',
        'kilometres',
        'Straße',
        'İstanbul',
        'ŉ',
      ),
      fc.integer({ min: -100_000, max: 100_000 }).map(String),
      fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((x) => x.toFixed(3)),
      fc.constantFrom(
        '{name}',
        '{0}',
        '"benexta"',
        '`clamp(x, lo, hi)`',
        'count_vowels',
        '太阳系中最大的行星',
        'Привет',
        '😀',
        '𝒜𝒷𝒸',
        'e\u0301',
      ),
      fc.constantFrom(' ', ' ', ' ', '  ', '\n', '\t', '. ', ', ', '? ', ': ', ' + ', ' × ', '='),
      fc.string({ maxLength: 6 }),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

const digitRuns = (text: string) => text.match(/\p{Nd}+/gu) ?? [];
/** No lone surrogate: in a u-mode class, only an unpaired one is a code point in that range. */
const wellFormed = (text: string) => !/[\uD800-\uDFFF]/u.test(text);
const placeholders = (text: string) => text.match(/\{[^{}\n]*\}/g) ?? [];

describe('perturbPrompt', () => {
  it('gives the same text for the same (run seed, item id, kind)', () => {
    fc.assert(
      fc.property(promptText, seed, itemId, kind, (text, runSeed, id, k) => {
        expect(perturbPrompt(text, { runSeed, itemId: id, kind: k })).toEqual(
          perturbPrompt(text, { runSeed, itemId: id, kind: k }),
        );
      }),
    );
  });

  it('draws different noise for different items, seeds and kinds', () => {
    const text = 'Please reverse every letter of these fairly long English words carefully and thoroughly. '.repeat(4);
    const seen = new Set<string>();
    for (const id of ['item-1', 'item-2', 'item-3'])
      for (const runSeed of [1, 2]) seen.add(perturbPrompt(text, { runSeed, itemId: id, kind: 'typos' }).text);
    expect(seen.size).toBe(6);
    expect(perturbationSeed(1, 'a', 'case')).not.toBe(perturbationSeed(1, 'a', 'typos'));
    expect(perturbationSeed(1, 'ab', 'c')).not.toBe(perturbationSeed(1, 'a', 'bc'));
  });

  it('never changes a digit, a number or a placeholder', () => {
    fc.assert(
      fc.property(
        promptText,
        seed,
        itemId,
        kind,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (text, runSeed, id, k, rate) => {
          const out = perturbPrompt(text, { runSeed, itemId: id, kind: k, rate }).text;
          expect(digitRuns(out)).toEqual(digitRuns(text));
          expect(placeholders(out)).toEqual(placeholders(text));
        },
      ),
    );
  });

  it('keeps quoted text and code exactly, and every number as a separate token', () => {
    const text =
      'Reverse the word "benexta", then call `clamp(x, lo, hi)` and count_vowels on 12 7 and 3.25 kilograms. Answer with {answer}.';
    for (const k of PERTURBATION_KINDS) {
      for (let runSeed = 0; runSeed < 50; runSeed++) {
        const out = perturbPrompt(text, { runSeed, itemId: 'x', kind: k, rate: 1 }).text;
        for (const span of ['"benexta"', '`clamp(x, lo, hi)`', 'count_vowels', '{answer}', '3.25'])
          expect(out).toContain(span);
        expect(out).toMatch(/(^|\D)12\s+7(\D|$)/);
      }
    }
  });

  it('changes each eligible unit with its kind’s rate, within binomial bounds', () => {
    const longText = fc
      .array(
        fc.constantFrom(
          'pattern',
          'Question',
          'answering',
          'through',
          'robustness',
          'evaluation',
          'Keyboard',
          'letters',
        ),
        { minLength: 150, maxLength: 300 },
      )
      .map((w) => w.join(' '));
    fc.assert(
      fc.property(
        longText,
        seed,
        itemId,
        fc.constantFrom<PerturbationKind>('case', 'typos', 'whitespace', 'char_noise'),
        (text, runSeed, id, k) => {
          const p = perturbPrompt(text, { runSeed, itemId: id, kind: k });
          const rate = PERTURBATION_RATES[k as Exclude<PerturbationKind, 'mixed'>];
          expect(p.eligible).toBeGreaterThan(100);
          expect(p.edits).toBeLessThanOrEqual(p.eligible);
          // Five standard deviations of Binomial(eligible, rate): a seed outside is a broken rate.
          const sigma = Math.sqrt(p.eligible * rate * (1 - rate));
          // A typo that swaps takes the next letter out of the draw, lowering the count by up to rate.
          const low = p.eligible * rate * (k === 'typos' ? 1 - rate : 1) - 5 * sigma;
          expect(p.edits).toBeGreaterThanOrEqual(Math.floor(low));
          expect(p.edits).toBeLessThanOrEqual(Math.ceil(p.eligible * rate + 5 * sigma));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves text alone at rate 0 and edits every eligible unit at rate 1', () => {
    fc.assert(
      fc.property(promptText, seed, kind, (text, runSeed, k) => {
        const none = perturbPrompt(text, { runSeed, itemId: 'i', kind: k, rate: 0 });
        expect(none).toMatchObject({ text, edits: 0 });
        if (k !== 'typos' && k !== 'mixed')
          expect(perturbPrompt(text, { runSeed, itemId: 'i', kind: k, rate: 1 }).edits).toBe(none.eligible);
      }),
    );
  });

  it('handles empty text, astral code points and scripts without case, keeping the output well-formed', () => {
    for (const k of PERTURBATION_KINDS)
      expect(perturbPrompt('', { runSeed: 1, itemId: 'e', kind: k })).toMatchObject({
        text: '',
        eligible: 0,
        edits: 0,
      });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), seed, kind, (text, runSeed, k) => {
        fc.pre(wellFormed(text));
        const out = perturbPrompt(text, { runSeed, itemId: 'u', kind: k, rate: 0.5 }).text;
        expect(wellFormed(out)).toBe(true);
      }),
    );
    expect(perturbPrompt('太阳系中最大的行星', { runSeed: 3, itemId: 'zh', kind: 'case', rate: 1 })).toMatchObject({
      text: '太阳系中最大的行星',
      eligible: 0,
    });
    expect(perturbPrompt('😀😀 𝒜𝒷𝒸', { runSeed: 3, itemId: 'astral', kind: 'whitespace', rate: 1 }).text).toMatch(
      /^😀😀 {2,3}𝒜𝒷𝒸$/u,
    );
  });

  it('makes each kind’s edits of its own sort', () => {
    const text = 'Convert seventeen kilometres into metres quickly';
    const cased = perturbPrompt(text, { runSeed: 5, itemId: 'k', kind: 'case', rate: 0.5 }).text;
    expect(cased.toLowerCase()).toBe(text.toLowerCase());
    expect(cased).not.toBe(text);
    const spaced = perturbPrompt(text, { runSeed: 5, itemId: 'k', kind: 'whitespace', rate: 1 }).text;
    expect(spaced.replace(/\s+/g, ' ')).toBe(text);
    expect(spaced.length).toBeGreaterThan(text.length);
    const typed = perturbPrompt(text, { runSeed: 5, itemId: 'k', kind: 'typos', rate: 0.3 }).text;
    expect(typed.split(' ').map((w) => w[0])).toEqual(text.split(' ').map((w) => w[0]));
    expect(typed).not.toBe(text);
    const noisy = perturbPrompt(text, { runSeed: 5, itemId: 'k', kind: 'char_noise', rate: 0.5 }).text;
    expect(noisy).not.toBe(text);
    expect(noisy.replace(/[';~^*_-]/g, '').length).toBe(text.length);
  });

  it('refuses a rate outside [0, 1]', () => {
    expect(() => perturbPrompt('text', { runSeed: 1, itemId: 'a', kind: 'case', rate: 1.5 })).toThrow(RangeError);
    expect(() => perturbPrompt('text', { runSeed: 1, itemId: 'a', kind: 'case', rate: Number.NaN })).toThrow(
      RangeError,
    );
  });
});

describe('perturbItems', () => {
  it('changes only the prompts, keeps ids and answers, and leaves arithmetic answerable', () => {
    const items = generateArithBasic(200);
    const perturbed = perturbItems(items, { runSeed: 11, kind: 'mixed' });
    expect(perturbed.map((i) => i.id)).toEqual(items.map((i) => i.id));
    expect(perturbed.map((i) => i.ground_truth)).toEqual(items.map((i) => i.ground_truth));
    expect(perturbed.filter((p, i) => p.prompt !== items[i]!.prompt).length).toBeGreaterThan(150);
    perturbed.forEach((p, i) => {
      expect(digitRuns(p.prompt)).toEqual(digitRuns(items[i]!.prompt));
      expect(p.metadata?.perturbation).toMatchObject({ kind: 'mixed' });
      // The correct answer to the clean prompt is still the correct answer.
      expect(scoreSample('exact_match', items[i]!.ground_truth, p)).toBe(1);
    });
    expect(perturbItems(items, { runSeed: 11, kind: 'mixed' })).toEqual(perturbed);
  });
});

describe('robustnessScore', () => {
  it('computes accuracies, their ratio and the flips of a hand-worked example', () => {
    // Clean: 1 1 1 0 1 → 0.8. Perturbed: 1 0 1 1 0 → 0.6. Broken: samples 2 and 5; fixed: 4.
    const r = robustnessScore([1, 1, 1, 0, 1], [1, 0, 1, 1, 0]);
    expect(r).toEqual({
      n: 5,
      cleanAccuracy: 0.8,
      perturbedAccuracy: 0.6,
      robustness: 0.75,
      relativeAccuracy: 0.75,
      flipRate: 0.6,
      brokenRate: 0.4,
      fixedRate: 0.2,
    });
  });

  it('counts partial scores as correct from the threshold on', () => {
    const r = robustnessScore([0.5, 0.4, 0.9], [0.49, 0.6, 0.9]);
    expect(r.brokenRate).toBeCloseTo(1 / 3, 12);
    expect(r.fixedRate).toBeCloseTo(1 / 3, 12);
    expect(robustnessScore([0.5, 0.4], [0.49, 0.6], { threshold: 0.4 }).flipRate).toBe(0);
  });

  it('caps robustness at 1 but not the relative accuracy, and has none without clean accuracy', () => {
    expect(robustnessScore([0, 1], [1, 1])).toMatchObject({ robustness: 1, relativeAccuracy: 2 });
    expect(robustnessScore([0, 0], [1, 0])).toMatchObject({ robustness: null, relativeAccuracy: null, fixedRate: 0.5 });
    expect(robustnessScore([], [])).toMatchObject({ n: 0, robustness: null, flipRate: 0 });
  });

  it('is 1 with no flips for identical passes, and keeps every rate within [0, 1]', () => {
    const scores = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 });
    fc.assert(
      fc.property(scores, (s) => {
        const r = robustnessScore(s, s);
        expect(r.flipRate).toBe(0);
        if (r.cleanAccuracy > 0) expect(r.robustness).toBeCloseTo(1, 12);
      }),
    );
    fc.assert(
      fc.property(
        scores.chain((a) =>
          fc.tuple(
            fc.constant(a),
            fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: a.length, maxLength: a.length }),
          ),
        ),
        ([a, b]) => {
          const r = robustnessScore(a, b);
          for (const v of [
            r.cleanAccuracy,
            r.perturbedAccuracy,
            r.flipRate,
            r.brokenRate,
            r.fixedRate,
            r.robustness ?? 0,
          ]) {
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(1);
          }
          expect(r.flipRate).toBeCloseTo(r.brokenRate + r.fixedRate, 12);
        },
      ),
    );
  });

  it('refuses unpaired or out-of-range scores', () => {
    expect(() => robustnessScore([1, 0], [1])).toThrow(/pair up/);
    expect(() => robustnessScore([1.2], [1])).toThrow(/clean score 0 is 1.2/);
    expect(() => robustnessScore([1], [Number.NaN])).toThrow(/perturbed score 0/);
  });
});
