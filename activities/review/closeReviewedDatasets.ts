/**
 * Closing the datasets a review held once the review has ended: with the reviewers' points as
 * their scores when it completed, unscored (failed, saying why) when it was abandoned or expired.
 * Idempotent: datasets already closed are left alone, and the owner's mail has a dedupe key.
 */
import type { ActivityDeps } from '../activityDeps';
import { applyReviewScores, closeHeldDatasetsUnscored, reviewSummary, type ReviewRow } from '../../db/queries/reviews';
import { closeDataset, computeDatasetMetrics, getRun, listRunDatasets } from '../../db/queries/runRecords';
import { appendRunLogs } from '../../db/queries/runLogs';
import { findRecipient, queueNotification } from '../../db/queries/notifications';
import { reviewCompletedMail } from '../../notifications/reviewMails';

export async function closeReviewedDatasets(
  { db, logger }: Pick<ActivityDeps, 'db' | 'logger'>,
  review: ReviewRow,
): Promise<void> {
  const runId = review.runId;
  const held = (await listRunDatasets(db, runId)).filter((d) => review.datasetIds.includes(d.datasetId));
  if (review.status === 'completed') {
    await applyReviewScores(db, review);
    const run = await getRun(db, runId);
    const scores: { dataset: string; score: number; answers: number }[] = [];
    for (const dataset of held) {
      const metric = run.config.datasets.find((d) => d.datasetId === dataset.datasetId)?.metric ?? 'exact_match';
      const closed =
        dataset.status === 'running'
          ? await closeDataset(
              db,
              runId,
              dataset.datasetId,
              'succeeded',
              await computeDatasetMetrics(db, runId, dataset.datasetId, metric),
              null,
            )
          : dataset;
      const score = closed.metrics?.score ?? 0;
      scores.push({ dataset: dataset.datasetId, score, answers: closed.metrics?.scored ?? 0 });
      await appendRunLogs(db, [
        {
          runId,
          datasetId: dataset.datasetId,
          level: 'info',
          message: `dataset ${dataset.datasetId} scored by reviewers: score ${score.toFixed(4)} over ${closed.done} sample(s) (${closed.failed} failed, counted as 0)`,
          dedupeKey: `dataset-end:${dataset.datasetId}`,
        },
      ]);
    }
    const recipient = await findRecipient(db, review.ownerId);
    if (recipient) {
      const summary = await reviewSummary(db, review);
      await queueNotification(
        db,
        reviewCompletedMail(
          {
            reviewId: review.id,
            runId,
            runVersion: summary.runVersion,
            modelName: summary.modelName,
            datasets: review.datasetIds,
            scores,
          },
          recipient,
        ),
      );
    }
    logger.info({ runId, reviewId: review.id }, 'manual review applied');
    return;
  }
  if (review.status === 'abandoned' || review.status === 'expired') {
    const error =
      review.status === 'abandoned'
        ? `unscored: the manual evaluation was abandoned by an admin${review.note ? ` (${review.note})` : ''}`
        : `unscored: ${review.note ?? 'the manual evaluation was not launched in time'}`;
    await closeHeldDatasetsUnscored(db, runId, review.datasetIds, error);
    await appendRunLogs(
      db,
      held.map((d) => ({
        runId,
        datasetId: d.datasetId,
        level: 'warn' as const,
        message: `dataset ${d.datasetId} ${error}`,
        dedupeKey: `dataset-end:${d.datasetId}`,
      })),
    );
  }
}
