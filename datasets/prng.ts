/**
 * A small seedable PRNG for everything that must come out the same on every machine and every
 * run: built-in dataset generation and the sample a verification run draws. Math.random cannot be
 * seeded, and a sample drawn once must be drawable again when a worker retries the run.
 *
 * The generator is the mulberry32 construction (a Weyl sequence through an avalanche mix), 32 bits
 * of state: tiny, fast, and statistically plenty for picking samples and operands.
 */

const UINT32_RANGE = 0x1_0000_0000;

export class Prng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    // Fold the bits above 32 in, so seeds that differ only there still give different streams.
    const low = seed >>> 0;
    const high = Math.floor(seed / UINT32_RANGE) >>> 0;
    this.state = (low ^ Math.imul(high, 0x9e3779b9)) >>> 0;
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / UINT32_RANGE;
  }

  /** An integer in [min, max], both inclusive, without modulo bias. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min)
      throw new RangeError(`bad integer range [${min}, ${max}]`);
    const span = max - min + 1;
    if (span > UINT32_RANGE) throw new RangeError(`integer range [${min}, ${max}] is wider than 2^32`);
    // Reject the top sliver of the 32-bit range that would make low values more likely.
    const limit = UINT32_RANGE - (UINT32_RANGE % span);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return min + (x % span);
  }

  pick<T>(values: readonly T[]): T {
    if (values.length === 0) throw new RangeError('cannot pick from an empty list');
    return values[this.int(0, values.length - 1)]!;
  }
}

/**
 * `count` distinct indices in [0, size), sorted ascending; `count` is clamped to [0, size]. The
 * same (seed, size, count) always gives the same indices. Floyd's sampling keeps this O(count)
 * even for a 100,000-item dataset, and every subset of that size is equally likely.
 */
export function drawSampleIndices(seed: number, size: number, count: number): number[] {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
  if (!Number.isInteger(count)) throw new RangeError(`count must be an integer, got ${count}`);
  const n = Math.max(0, Math.min(count, size));
  const prng = new Prng(seed);
  const chosen = new Set<number>();
  for (let j = size - n; j < size; j++) {
    const t = prng.int(0, j);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}
