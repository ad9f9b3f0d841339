/**
 * The random stream behind one perturbed prompt, a function of (run seed, item id, kind) alone:
 * the same run perturbs each item the same way on every retry, on every worker, in any order,
 * and two kinds or two items never share a stream. FNV-1a (64-bit, in BigInt) over the three
 * parts, separated by a byte no item id contains, folded to the 53 bits Prng accepts. Pure and
 * free of Node APIs, so a workflow could call it too.
 */
import { Prng } from '../../datasets/prng';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

export function perturbationSeed(runSeed: number, itemId: string, kind: string): number {
  if (!Number.isSafeInteger(runSeed)) throw new RangeError(`run seed must be a safe integer, got ${runSeed}`);
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(`${runSeed}\u0000${itemId}\u0000${kind}`)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return Number(hash >> 11n);
}

export function perturbationPrng(runSeed: number, itemId: string, kind: string): Prng {
  return new Prng(perturbationSeed(runSeed, itemId, kind));
}
