/**
 * An evaluation-only launch scores the latest uploaded predictions of each dataset, frozen into the
 * run's plan. Refused (409, naming each dataset) while a dataset has none, or has only predictions
 * checked against content the dataset no longer has.
 */
import type { Db } from '../../db/client';
import type { EvaluationRow, PlannedDataset } from '../../db/queries/runLaunch';
import { latestPredictionSets } from '../../db/queries/predictions';
import type { FieldError } from '../../contracts/problem';
import { HttpProblem, statusTitle } from '../http/problems';

export async function withPredictionSets(
  db: Db,
  evaluation: EvaluationRow,
  datasets: PlannedDataset[],
): Promise<PlannedDataset[]> {
  if (evaluation.deployment.method !== 'predictions') return datasets;
  const latest = await latestPredictionSets(
    db,
    evaluation.id,
    datasets.map((d) => d.datasetId),
  );
  const errors: FieldError[] = [];
  const planned = datasets.map((d) => {
    const set = latest.get(d.datasetId);
    const field = `datasets[${evaluation.datasetIds.indexOf(d.datasetId)}]`;
    if (!set) {
      errors.push({
        field,
        message: `${d.datasetId} has no uploaded predictions; PUT /v1/evaluations/${evaluation.id}/predictions/${d.datasetId} first`,
      });
    } else if (set.datasetContentHash !== d.contentHash) {
      errors.push({ field, message: `${d.datasetId} changed since its predictions were uploaded; upload them again` });
    }
    return set ? { ...d, predictionSetId: set.id } : d;
  });
  if (errors.length > 0) {
    throw new HttpProblem(
      409,
      statusTitle(409),
      `the run cannot be launched: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
      errors,
    );
  }
  return planned;
}
