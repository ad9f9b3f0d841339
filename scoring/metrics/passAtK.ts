/**
 * pass@k for code generation: the chance that at least one of k completions, drawn without
 * replacement from the n generated for a problem, passes the problem's hidden tests. With c of n
 * passing, the unbiased estimator is
 *
 *   pass@k = 1 − C(n−c, k) / C(n, k)
 *
 * computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i): the binomials overflow a double from n ≈ 1030, the
 * product never does, and each factor lies in [0, 1]. When fewer than k completions fail
 * (n − c < k) every draw holds a pass and the value is exactly 1.
 *
 * meanPassAtK averages over problems, which is how a dataset's pass@k is reported. Running the
 * completions to count c is the code-scoring activities' part (activities/codeScoring/scoreCodeProblem.ts).
 */

export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`pass@k needs n ≥ 1 completions, got ${n}`);
  if (!Number.isInteger(c) || c < 0 || c > n) throw new RangeError(`pass@k needs 0 ≤ c ≤ n (n = ${n}), got c = ${c}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`pass@k needs 1 ≤ k ≤ n (n = ${n}), got k = ${k}`);
  if (n - c < k) return 1;
  let allFail = 1;
  for (let i = n - c + 1; i <= n; i++) allFail *= 1 - k / i;
  return 1 - allFail;
}

/** pass@k for each k ≤ n. */
export function passAtKs(n: number, c: number, ks: number[]): Record<number, number> {
  checkKs(ks);
  const out: Record<number, number> = {};
  if (n === 0) return out;
  for (const k of ks) if (k <= n) out[k] = passAtK(n, c, k);
  return out;
}

/**
 * A dataset's pass@k: the mean over problems of each problem's pass@k. A k is reported only when
 * every problem has at least k completions, so all problems weigh alike in it.
 */
export function meanPassAtK(problems: Array<{ n: number; c: number }>, ks: number[]): Record<number, number> {
  checkKs(ks);
  const out: Record<number, number> = {};
  if (problems.length === 0) return out;
  for (const k of ks) {
    if (problems.some((p) => p.n < k)) continue;
    out[k] = problems.reduce((sum, p) => sum + passAtK(p.n, p.c, k), 0) / problems.length;
  }
  return out;
}

export function checkKs(ks: number[]): void {
  if (ks.length === 0) throw new RangeError('pass@k needs at least one k');
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}
