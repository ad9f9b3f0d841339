import { describe, expect, it } from 'vitest';
import { Prng, drawSampleIndices } from '../../datasets/prng';

describe('Prng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const take = (seed: number) => {
      const p = new Prng(seed);
      return Array.from({ length: 50 }, () => p.nextUint32());
    };
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
    expect(take(5)).not.toEqual(take(5 + 2 ** 32)); // bits above 32 matter
    for (const x of take(3)) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it('int stays within its inclusive bounds and reaches both ends', () => {
    const p = new Prng(42);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const v = p.int(-3, 3);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(3);
      seen.add(v);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
  });

  it('spreads values roughly evenly (each of 10 buckets within 20% of its share)', () => {
    const p = new Prng(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(p.next() * 10)]! += 1;
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(2000);
  });

  it('refuses a non-integer seed or an empty range', () => {
    expect(() => new Prng(1.5)).toThrow(RangeError);
    expect(() => new Prng(1).int(3, 2)).toThrow(RangeError);
    expect(() => new Prng(1).pick([])).toThrow(RangeError);
  });
});

describe('drawSampleIndices', () => {
  function checkDraw(seed: number, size: number, count: number) {
    const drawn = drawSampleIndices(seed, size, count);
    expect(drawn).toHaveLength(Math.max(0, Math.min(count, size)));
    expect(new Set(drawn).size).toBe(drawn.length);
    for (let i = 0; i < drawn.length; i++) {
      expect(Number.isInteger(drawn[i])).toBe(true);
      expect(drawn[i]).toBeGreaterThanOrEqual(0);
      expect(drawn[i]).toBeLessThan(size);
      if (i > 0) expect(drawn[i]!).toBeGreaterThan(drawn[i - 1]!);
    }
    expect(drawSampleIndices(seed, size, count)).toEqual(drawn);
    return drawn;
  }

  it('draws distinct sorted in-range indices, the same every time', () => {
    for (let seed = 0; seed < 40; seed++) {
      for (const [size, count] of [
        [1, 1],
        [10, 3],
        [10, 10],
        [100, 20],
        [100_000, 50],
        [1000, 999],
      ] as const) {
        checkDraw(seed * 7919 + size, size, count);
      }
    }
  });

  it('clamps the count to the dataset size and to zero', () => {
    expect(checkDraw(3, 5, 50)).toEqual([0, 1, 2, 3, 4]);
    expect(checkDraw(3, 0, 10)).toEqual([]);
    expect(checkDraw(3, 10, 0)).toEqual([]);
    expect(checkDraw(3, 10, -4)).toEqual([]);
  });

  it('differs between seeds', () => {
    const draws = new Set<string>();
    for (let seed = 0; seed < 50; seed++) draws.add(drawSampleIndices(seed, 100_000, 10).join(','));
    expect(draws.size).toBe(50);
  });

  it('gives every index a fair chance (each position of 20 drawn 3 of 20 times about 15% of 4000 draws)', () => {
    const hits = new Array<number>(20).fill(0);
    for (let seed = 0; seed < 4000; seed++) for (const i of drawSampleIndices(seed, 20, 3)) hits[i]! += 1;
    for (const h of hits) expect(Math.abs(h - 600)).toBeLessThan(150);
  });

  it('refuses sizes and counts that are not integers', () => {
    expect(() => drawSampleIndices(1, -1, 2)).toThrow(RangeError);
    expect(() => drawSampleIndices(1, 10.5, 2)).toThrow(RangeError);
    expect(() => drawSampleIndices(1, 10, 2.5)).toThrow(RangeError);
  });
});
