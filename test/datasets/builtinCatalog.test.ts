import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { BUILTIN_DATASETS, type BuiltinDataset } from '../../datasets/builtinCatalog';
import { datasetContentHash } from '../../datasets/contentHash';
import { scoreSample } from '../../scoring/metrics';
import { DATASET_ID_PATTERN, DatasetItem } from '../../contracts/dataset';

function byId(id: string): BuiltinDataset {
  const found = BUILTIN_DATASETS.find((d) => d.id === id);
  if (!found) throw new Error(`no built-in ${id}`);
  return found;
}

/** An exact decimal string as a fraction of BigInts. */
function rational(text: string): { num: bigint; den: bigint } {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a plain decimal: ${text}`);
  const decimals = m[3] ?? '';
  return { num: BigInt(`${m[1]}${m[2]}${decimals}`), den: 10n ** BigInt(decimals.length) };
}

function applyOperator(a: number, op: string, b: number): number {
  if (op === '+') return a + b;
  if (op === '-') return a - b;
  if (op === '*') return a * b;
  throw new Error(`unexpected operator ${op}`);
}

describe('the built-in catalogue', () => {
  it('holds exactly the four NLP datasets with their sizes and metrics', () => {
    expect(BUILTIN_DATASETS.map((d) => [d.id, d.domain, d.task, d.metric, d.size])).toEqual([
      ['arith-basic', 'nlp', 'arithmetic', 'exact_match', 1000],
      ['arith-mc', 'nlp', 'arithmetic', 'mc_accuracy', 500],
      ['unit-conversion', 'nlp', 'unit-conversion', 'numeric_match', 800],
      ['word-reverse', 'nlp', 'string-manipulation', 'exact_match', 600],
    ]);
  });

  for (const dataset of BUILTIN_DATASETS) {
    describe(dataset.id, () => {
      const items = dataset.generate();

      it('has valid, uniquely numbered items in the declared number, each scoring 1 against itself', () => {
        expect(new RegExp(DATASET_ID_PATTERN).test(dataset.id)).toBe(true);
        expect(dataset.size).toBeGreaterThanOrEqual(100);
        expect(dataset.size).toBeLessThanOrEqual(10_000);
        expect(dataset.name.length).toBeGreaterThan(0);
        expect(dataset.description.length).toBeGreaterThan(0);
        expect(items).toHaveLength(dataset.size);
        items.forEach((item, i) => {
          expect(Value.Check(DatasetItem, item)).toBe(true);
          expect(item.id).toBe(`${dataset.id}-${String(i + 1).padStart(4, '0')}`);
          expect(
            scoreSample(dataset.metric, item.ground_truth, { ground_truth: item.ground_truth, choices: item.choices }),
          ).toBe(1);
        });
      });

      it('generates the same items every time', () => {
        const again = dataset.generate();
        expect(again).toEqual(items);
        expect(datasetContentHash(again)).toBe(datasetContentHash(items));
        again[0]!.ground_truth = 'changed'; // a caller's copy is its own
        expect(dataset.generate()[0]!.ground_truth).toBe(items[0]!.ground_truth);
      });
    });
  }

  it('arith-basic: every answer is the exact result of the expression in the prompt', () => {
    const ops = new Set<string>();
    for (const item of byId('arith-basic').generate()) {
      const m = /^Compute (\d+) ([-+*]) (\d+)\. Reply with the number only\.$/.exec(item.prompt);
      expect(m, item.prompt).not.toBeNull();
      const [a, op, b] = [Number(m![1]), m![2]!, Number(m![3])];
      const max = op === '*' ? 99 : 999;
      for (const operand of [a, b]) expect(operand >= 2 && operand <= max, item.prompt).toBe(true);
      expect(item.ground_truth).toBe(String(applyOperator(a, op, b)));
      expect(item.choices).toBeUndefined();
      ops.add(op);
    }
    expect([...ops].sort()).toEqual(['*', '+', '-']);
  });

  it('arith-mc: four distinct options, the ground-truth letter is the one equal to the expression, positions vary', () => {
    const positions = new Map<string, number>();
    for (const item of byId('arith-mc').generate()) {
      const m =
        /^Which of the following equals (\d+) ([-+*]) (\d+)\?\nA\. (-?\d+)\nB\. (-?\d+)\nC\. (-?\d+)\nD\. (-?\d+)\nAnswer with the letter of the correct option\.$/.exec(
          item.prompt,
        );
      expect(m, item.prompt).not.toBeNull();
      const value = applyOperator(Number(m![1]), m![2]!, Number(m![3]));
      const options = m!.slice(4, 8);
      expect(item.choices).toEqual(options);
      expect(new Set(options).size).toBe(4);
      const correct = options.map(Number).indexOf(value);
      expect(correct, item.prompt).toBeGreaterThanOrEqual(0);
      expect(item.ground_truth).toBe('ABCD'[correct]);
      positions.set(item.ground_truth, (positions.get(item.ground_truth) ?? 0) + 1);
    }
    // 500 items over four positions: each letter is the answer a fair number of times.
    for (const letter of 'ABCD') expect(positions.get(letter) ?? 0).toBeGreaterThan(80);
  });

  it('unit-conversion: every answer is the exact conversion, at most three decimals, no trailing zeros', () => {
    const factors: Record<string, Record<string, [bigint, bigint]>> = {
      kilometers: { meters: [1000n, 1n] },
      meters: { centimeters: [100n, 1n], kilometers: [1n, 1000n] },
      centimeters: { meters: [1n, 100n] },
      kilograms: { grams: [1000n, 1n] },
      grams: { kilograms: [1n, 1000n] },
      hours: { minutes: [60n, 1n] },
      minutes: { seconds: [60n, 1n], hours: [1n, 60n] },
      seconds: { minutes: [1n, 60n] },
      liters: { milliliters: [1000n, 1n] },
      milliliters: { liters: [1n, 1000n] },
    };
    const pairs = new Set<string>();
    for (const item of byId('unit-conversion').generate()) {
      const m = /^Convert (\d+(?:\.\d+)?) ([a-z]+) to ([a-z]+)\. Reply with the number only\.$/.exec(item.prompt);
      expect(m, item.prompt).not.toBeNull();
      const [value, from, to] = [m![1]!, m![2]!, m![3]!];
      expect(value, item.prompt).not.toBe('1');
      const factor = factors[from]?.[to];
      expect(factor, item.prompt).toBeDefined();
      pairs.add(`${from}->${to}`);
      expect(item.ground_truth).toMatch(/^(0|[1-9]\d*)(\.\d{0,2}[1-9])?$/);
      const v = rational(value);
      const g = rational(item.ground_truth);
      // v * mul / div === g, cross-multiplied to stay in integers
      expect(v.num * factor![0] * g.den, item.prompt).toBe(g.num * v.den * factor![1]);
    }
    expect(pairs.size).toBe(12);
  });

  it('word-reverse: lowercase words of 3–10 letters, not palindromes, answered reversed', () => {
    const words = new Set<string>();
    for (const item of byId('word-reverse').generate()) {
      const m = /^Reverse the letters of the word "([a-z]{3,10})"\. Reply with the reversed word only\.$/.exec(
        item.prompt,
      );
      expect(m, item.prompt).not.toBeNull();
      const word = m![1]!;
      const reversed = word.split('').reverse().join('');
      expect(reversed).not.toBe(word);
      expect(item.ground_truth).toBe(reversed);
      words.add(word);
    }
    expect(words.size).toBeGreaterThan(500); // mostly different words
  });
});
