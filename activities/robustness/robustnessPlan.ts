/**
 * Whether a dataset of a run gets the robustness pass, and its seed. Formal runs of an evaluation
 * with `robustness: true` do, for datasets scored per answer by a rule metric: a judge metric would
 * need a second judging pass, and a code prompt's perturbed signature would change the task rather
 * than its wording. The run's config decides when it froze the flag at launch; a run launched
 * without it reads its evaluation's.
 */
import type { Db } from '../../db/client';
import { evaluationWantsRobustness } from '../../db/queries/evaluations';
import type { RunConfig, RunDatasetPlan } from '../../contracts/run';
import { isCodeDataset } from '../../scoring/codeSampling';

export const PERTURBATION_KIND = 'mixed' as const;

export async function robustnessWanted(
  db: Db,
  run: { evaluationId: string; type: string; config: RunConfig },
  plan: RunDatasetPlan | undefined,
): Promise<boolean> {
  if (run.type !== 'formal' || !plan || isCodeDataset(plan) || plan.predictionSetId) return false;
  if (run.config.scoring?.datasets[plan.datasetId]?.metric === 'judge') return false;
  if (run.config.robustness !== undefined) return run.config.robustness;
  return evaluationWantsRobustness(db, run.evaluationId);
}

/** The run's perturbation seed: its sample seed when it has one, else a number drawn from its id, so a retry perturbs alike. */
export function runPerturbationSeed(runId: string, sampleSeed: number | null): number {
  if (sampleSeed !== null) return sampleSeed;
  let h = 0x811c9dc5;
  for (const ch of runId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}
