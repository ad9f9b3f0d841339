/**
 * How much a model's scores hold up when its prompts are perturbed (perturb.ts), from the paired
 * per-sample scores of the clean pass and the perturbed pass over the same samples:
 *
 *   cleanAccuracy      mean clean score
 *   perturbedAccuracy  mean perturbed score
 *   robustness         perturbedAccuracy / cleanAccuracy, capped at 1: the share of its clean
 *                      accuracy a model keeps under noise (1 = unaffected); null when the clean
 *                      accuracy is 0, as there is nothing to keep
 *   relativeAccuracy   the same ratio uncapped (above 1 when noise happened to help)
 *   flipRate           share of samples whose correctness differs between the passes, where a
 *                      sample is correct when its score is at least `threshold` (0.5)
 *   brokenRate         share correct when clean and wrong when perturbed
 *   fixedRate          share wrong when clean and correct when perturbed (flipRate = broken + fixed)
 *
 * The ratio says how much accuracy survives on average; the flip rates say how stable answers
 * are one by one, which an unchanged mean can hide (as many fixed as broken).
 */

export interface RobustnessScore {
  n: number;
  cleanAccuracy: number;
  perturbedAccuracy: number;
  robustness: number | null;
  relativeAccuracy: number | null;
  flipRate: number;
  brokenRate: number;
  fixedRate: number;
}

export function robustnessScore(
  cleanScores: readonly number[],
  perturbedScores: readonly number[],
  o: { threshold?: number } = {},
): RobustnessScore {
  if (cleanScores.length !== perturbedScores.length) {
    throw new RangeError(
      `clean and perturbed scores must pair up sample by sample: ${cleanScores.length} clean, ${perturbedScores.length} perturbed`,
    );
  }
  const threshold = o.threshold ?? 0.5;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be within (0, 1], got ${threshold}`);
  for (const [which, scores] of [
    ['clean', cleanScores],
    ['perturbed', perturbedScores],
  ] as const) {
    const bad = scores.findIndex((s) => !(s >= 0 && s <= 1));
    if (bad !== -1) throw new RangeError(`${which} score ${bad} is ${scores[bad]}, not within [0, 1]`);
  }
  const n = cleanScores.length;
  if (n === 0)
    return {
      n: 0,
      cleanAccuracy: 0,
      perturbedAccuracy: 0,
      robustness: null,
      relativeAccuracy: null,
      flipRate: 0,
      brokenRate: 0,
      fixedRate: 0,
    };
  let clean = 0;
  let perturbed = 0;
  let broken = 0;
  let fixed = 0;
  for (let i = 0; i < n; i++) {
    clean += cleanScores[i]!;
    perturbed += perturbedScores[i]!;
    const wasRight = cleanScores[i]! >= threshold;
    const isRight = perturbedScores[i]! >= threshold;
    if (wasRight && !isRight) broken++;
    if (!wasRight && isRight) fixed++;
  }
  const cleanAccuracy = clean / n;
  const perturbedAccuracy = perturbed / n;
  // Ratio of sums rather than of means: the same value, without a second rounding.
  const relativeAccuracy = clean === 0 ? null : perturbed / clean;
  return {
    n,
    cleanAccuracy,
    perturbedAccuracy,
    robustness: relativeAccuracy === null ? null : Math.min(1, relativeAccuracy),
    relativeAccuracy,
    flipRate: (broken + fixed) / n,
    brokenRate: broken / n,
    fixedRate: fixed / n,
  };
}
