/** The robustness a dataset's metrics carry when its run made the perturbed pass (docs/scoring.md). */
import type { Db } from '../../db/client';
import type { DatasetMetrics } from '../../contracts/run';
import { robustnessScore } from '../../scoring/robustness/robustnessScore';
import { pairedScores } from '../../db/queries/perturbedResults';

export async function withRobustness(
  db: Db,
  runId: string,
  datasetId: string,
  metrics: DatasetMetrics,
): Promise<DatasetMetrics> {
  const { clean, perturbed, failed } = await pairedScores(db, runId, datasetId);
  if (clean.length === 0) return metrics;
  const r = robustnessScore(clean, perturbed);
  return {
    ...metrics,
    robustness: {
      n: r.n,
      cleanAccuracy: r.cleanAccuracy,
      perturbedAccuracy: r.perturbedAccuracy,
      robustness: r.robustness,
      flipRate: r.flipRate,
      brokenRate: r.brokenRate,
      fixedRate: r.fixedRate,
      failed,
    },
  };
}
