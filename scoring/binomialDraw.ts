/**
 * Exact draws from Binomial(n, p), the number of successes in n independent trials, with a cost
 * that grows with the standard deviation √(np(1−p)) rather than with n: the outcomes are visited
 * in the fixed order mode, mode+1, mode−1, mode+2, … and the first whose cumulative probability
 * exceeds one uniform draw is the answer (inversion, so the draw is exact up to double rounding).
 * Neighbouring probabilities follow from the ratio P(k+1)/P(k) = (n−k)/(k+1) · p/(1−p).
 */
import type { Prng } from '../datasets/prng';

export function binomialDraw(n: number, p: number, prng: Prng): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const q = 1 - p;
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const atMode = Math.exp(logChoose(n, mode) + mode * Math.log(p) + (n - mode) * Math.log(q));
  const u = prng.next();
  let total = atMode;
  if (u < total) return mode;
  let hi = mode;
  let lo = mode;
  let pHi = atMode;
  let pLo = atMode;
  const up = p / q;
  const down = q / p;
  while (hi < n || lo > 0) {
    if (hi < n) {
      pHi *= ((n - hi) / (hi + 1)) * up;
      hi += 1;
      total += pHi;
      if (u < total) return hi;
    }
    if (lo > 0) {
      pLo *= (lo / (n - lo + 1)) * down;
      lo -= 1;
      total += pLo;
      if (u < total) return lo;
    }
  }
  // Only rounding leaves u above the accumulated total; the mode is the likeliest answer then.
  return mode;
}

/** ln C(n, k), from log-factorials. */
function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const SMALL = 256;
const LOG_FACTORIALS = (() => {
  const table = new Float64Array(SMALL);
  for (let i = 2; i < SMALL; i++) table[i] = table[i - 1]! + Math.log(i);
  return table;
})();

/** ln n!: a table below 256, Stirling's series above (error far below 1e-12 there). */
function logFactorial(n: number): number {
  if (n < SMALL) return LOG_FACTORIALS[n]!;
  const x = n + 1;
  const inv = 1 / x;
  const inv2 = inv * inv;
  return (
    (x - 0.5) * Math.log(x) -
    x +
    0.5 * Math.log(2 * Math.PI) +
    inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
  );
}
