/**
 * `unit-conversion`: conversions between units with exact integer factors, in both directions.
 * Values are chosen so every result is an exact decimal with at most three places, and the
 * arithmetic is done in integer thousandths, so no ground truth carries a floating-point error.
 */
import type { DatasetItem } from '../../contracts/dataset';
import { Prng } from '../prng';
import { builtinItemId } from './itemIds';

export const UNIT_CONVERSION_ID = 'unit-conversion';
const SEED = 0x0a11_0003;

/** `factor` of the smaller unit make one of the larger. */
const UNIT_PAIRS: readonly { larger: string; smaller: string; factor: number }[] = [
  { larger: 'kilometers', smaller: 'meters', factor: 1000 },
  { larger: 'meters', smaller: 'centimeters', factor: 100 },
  { larger: 'kilograms', smaller: 'grams', factor: 1000 },
  { larger: 'hours', smaller: 'minutes', factor: 60 },
  { larger: 'minutes', smaller: 'seconds', factor: 60 },
  { larger: 'liters', smaller: 'milliliters', factor: 1000 },
];

/** A value as an integer count of `1 / 10^decimals`. */
interface Scaled {
  units: number;
  decimals: 0 | 1;
}

export function generateUnitConversion(size: number): DatasetItem[] {
  const prng = new Prng(SEED);
  return Array.from({ length: size }, (_, i) => {
    const pair = prng.pick(UNIT_PAIRS);
    const toSmaller = prng.int(0, 1) === 1;
    const value = toSmaller ? drawLargerValue(prng) : drawSmallerValue(prng, pair.factor);
    const scale = 10 ** value.decimals;
    const thousandths = toSmaller
      ? (value.units * pair.factor * 1000) / scale
      : (value.units * 1000) / (scale * pair.factor);
    if (!Number.isInteger(thousandths))
      throw new Error(`unit-conversion generator produced an inexact result for ${formatScaled(value)}`);
    const [from, to] = toSmaller ? [pair.larger, pair.smaller] : [pair.smaller, pair.larger];
    return {
      id: builtinItemId(UNIT_CONVERSION_ID, i),
      prompt: `Convert ${formatScaled(value)} ${from} to ${to}. Reply with the number only.`,
      ground_truth: formatThousandths(thousandths),
    };
  });
}

/** Half whole numbers 2..999, half one-decimal values 0.1..99.9 such as 2.5 ("1 kilometers" never occurs). */
function drawLargerValue(prng: Prng): Scaled {
  if (prng.int(0, 1) === 0) return { units: prng.int(2, 999), decimals: 0 };
  let units = prng.int(1, 999);
  while (units % 10 === 0) units = prng.int(1, 999);
  return { units, decimals: 1 };
}

/** Whole numbers 2..20000 whose conversion to the larger unit ends within three decimals. */
function drawSmallerValue(prng: Prng, factor: number): Scaled {
  let units = prng.int(2, 20_000);
  while ((units * 1000) % factor !== 0) units = prng.int(2, 20_000);
  return { units, decimals: 0 };
}

function formatScaled({ units, decimals }: Scaled): string {
  return decimals === 0 ? String(units) : `${Math.floor(units / 10)}.${units % 10}`;
}

/** 2500 → "2.5", 3_000_000 → "3000", 250 → "0.25": no trailing zeros, no exponent. */
function formatThousandths(thousandths: number): string {
  const whole = Math.floor(thousandths / 1000);
  const fraction = String(thousandths % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}
