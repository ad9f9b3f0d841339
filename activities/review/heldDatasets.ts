/**
 * A subjective dataset under manual review does not close when its inference ends: it stays
 * running, its answers stored without the metric's score, until reviewers have scored them
 * (closeReviewedDatasets.ts). finishDataset asks this first.
 */
import type { ActivityDeps } from '../activityDeps';
import type { DatasetMetrics } from '../../contracts/run';
import { clearAutomaticScores, isHeldForReview } from '../../db/queries/reviews';
import { appendRunLogs } from '../../db/queries/runLogs';

/** True when the dataset is held for reviewers (it stored at least one answer for them to score). */
export async function holdForManualReview(
  { db }: Pick<ActivityDeps, 'db'>,
  runId: string,
  datasetId: string,
  metrics: DatasetMetrics,
): Promise<boolean> {
  if (metrics.scored === 0 || !(await isHeldForReview(db, runId, datasetId))) return false;
  await clearAutomaticScores(db, runId, datasetId);
  await appendRunLogs(db, [
    {
      runId,
      datasetId,
      level: 'info',
      message: `dataset ${datasetId} inferred: ${metrics.scored} answer(s) wait for the manual evaluation (${metrics.failed} failed, counted as 0)`,
      dedupeKey: `dataset-held:${datasetId}`,
    },
  ]);
  return true;
}
