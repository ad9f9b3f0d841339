/**
 * The activities of the manual-review gate (workflows/manualReview.ts). The record is the
 * authority: the workflow learns where a review stands, and how long to wait for what, from these
 * activities only, so the API can move a review while the workflow sleeps and a lost signal costs
 * at most one timer. Each activity is idempotent (guarded status changes, mails with dedupe keys).
 */
import type { ActivityDeps } from '../activityDeps';
import { loadReviewSettings, type ReviewSettings } from '../../config/env';
import type { ReviewGateState, ReviewPlan } from '../../contracts/review';
import { findBuiltinDataset } from '../../datasets/builtinCatalog';
import { getRun } from '../../db/queries/runRecords';
import { subjectiveDatasetIds } from '../../db/queries/datasets';
import { evaluationModelInfo } from '../../db/queries/evaluations';
import { appendRunLogs } from '../../db/queries/runLogs';
import { findRecipient, queueNotification } from '../../db/queries/notifications';
import {
  cancelReview,
  expireReview,
  getReviewOfRun,
  openReviewGate,
  planReview,
  recordReminder,
  reminderRecipients,
  reviewSummary,
  type ReviewRow,
} from '../../db/queries/reviews';
import { manualEvaluationReadyMail, reviewReminderMail } from '../../notifications/reviewMails';
import { closeReviewedDatasets } from './closeReviewedDatasets';

/** A wait the workflow sets never goes below this: a timer due already fires at once anyway. */
const MIN_WAIT_MS = 1000;

export function createReviewActivities(deps: ActivityDeps) {
  const { db, logger } = deps;
  const settings: ReviewSettings = deps.review ?? loadReviewSettings(process.env);

  const gateState = (review: ReviewRow): ReviewGateState => {
    const now = Date.now();
    const left = (at: number) => Math.max(MIN_WAIT_MS, at - now);
    return {
      status: review.status,
      launchWindowLeftMs:
        review.status === 'awaiting-launch' && review.launchDeadline ? left(review.launchDeadline.getTime()) : null,
      reminderInMs:
        review.status === 'in-review'
          ? left((review.lastRemindedAt ?? review.launchedAt ?? review.createdAt).getTime() + settings.reminderAfterMs)
          : null,
      reminders: review.reminders,
    };
  };

  const reviewOf = async (runId: string): Promise<ReviewRow> => {
    const review = await getReviewOfRun(db, runId);
    if (!review) throw new Error(`run ${runId} has no manual review`);
    return review;
  };

  return {
    /**
     * Decides, as the run begins, which datasets reviewers will score: the subjective ones of a
     * formal run of an SFT model. Any other run scores them with their metric, and says so.
     */
    async planManualReview({ runId }: { runId: string }): Promise<ReviewPlan> {
      const existing = await getReviewOfRun(db, runId);
      if (existing) return { reviewed: true, reviewId: existing.id, datasetIds: existing.datasetIds };
      const run = await getRun(db, runId);
      // An inference-only run scores nothing, so no reviewer scores its answers either.
      if (run.config.inferenceOnly) return { reviewed: false, reviewId: null, datasetIds: [] };
      const planned = run.config.datasets.map((d) => d.datasetId);
      const stored = await subjectiveDatasetIds(db, planned);
      const subjective = planned.filter((id) => stored.has(id) || findBuiltinDataset(id)?.subjective === true);
      if (subjective.length === 0) return { reviewed: false, reviewId: null, datasetIds: [] };
      const sft = (await evaluationModelInfo(db, run.evaluationId))?.type === 'sft';
      if (run.type !== 'formal' || !sft) {
        const why =
          run.type !== 'formal'
            ? 'a verification'
            : 'the model is a base model (modelInfo.type), and manual evaluation is for SFT models';
        await appendRunLogs(db, [
          {
            runId,
            level: 'info',
            message: `subjective dataset(s) ${subjective.join(', ')} are scored by their automatic metric: this run is ${why}`,
            dedupeKey: 'review-plan',
          },
        ]);
        return { reviewed: false, reviewId: null, datasetIds: [] };
      }
      const review = await planReview(db, runId, run.ownerId, subjective);
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `subjective dataset(s) ${subjective.join(', ')} will be scored by reviewers after inference (manual evaluation)`,
          dedupeKey: 'review-plan',
        },
      ]);
      logger.info({ runId, reviewId: review.id }, 'manual review planned');
      return { reviewed: true, reviewId: review.id, datasetIds: review.datasetIds };
    },

    /** Inference is over: the review now waits for its owner's launch, who is told by mail. */
    async openManualReviewGate({ runId }: { runId: string }): Promise<ReviewGateState> {
      const review = await openReviewGate(db, runId, settings.launchWindowMs);
      if (review.status === 'awaiting-launch' && review.launchDeadline) {
        const summary = await reviewSummary(db, review);
        await appendRunLogs(db, [
          {
            runId,
            level: 'info',
            message: `inference done: ${summary.progress.total} answer(s) of ${review.datasetIds.join(', ')} await the manual evaluation; launch it before ${review.launchDeadline.toISOString()}`,
            dedupeKey: 'review-awaiting-launch',
          },
        ]);
        const recipient = await findRecipient(db, review.ownerId);
        if (recipient) {
          await queueNotification(
            db,
            manualEvaluationReadyMail(
              {
                reviewId: review.id,
                runId,
                runVersion: summary.runVersion,
                modelName: summary.modelName,
                datasets: review.datasetIds,
                launchDeadline: review.launchDeadline,
              },
              recipient,
            ),
          );
        }
      }
      return gateState(review);
    },

    async manualReviewState({ runId }: { runId: string }): Promise<ReviewGateState> {
      return gateState(await reviewOf(runId));
    },

    /** The launch window closed: the review expires, unless a launch got in first. */
    async expireManualEvaluation({ runId }: { runId: string }): Promise<ReviewGateState> {
      const review = await expireReview(
        db,
        runId,
        `the manual evaluation was not launched within ${describeSpan(settings.launchWindowMs)} of the end of inference`,
      );
      return gateState(review);
    },

    /** Reminder `number` of a review still waiting: queued to every reviewer (or the admins) once. */
    async remindReviewers({ runId, number }: { runId: string; number: number }): Promise<ReviewGateState> {
      const review = await reviewOf(runId);
      if (review.status !== 'in-review' || review.reminders > number) return gateState(review);
      if (review.reminders === number - 1) await recordReminder(db, review.id, number);
      const summary = await reviewSummary(db, review);
      for (const recipient of await reminderRecipients(db, review.ownerId)) {
        await queueNotification(
          db,
          reviewReminderMail(
            {
              reviewId: review.id,
              runId,
              runVersion: summary.runVersion,
              modelName: summary.modelName,
              datasets: review.datasetIds,
              number,
              waitingSince: review.launchedAt ?? review.createdAt,
              scored: summary.progress.scored,
              total: summary.progress.total,
            },
            recipient,
          ),
        );
      }
      logger.info({ runId, reviewId: review.id, reminder: number }, 'review reminder queued');
      return gateState(await reviewOf(runId));
    },

    /**
     * The gate is over, however it ended: a completed review's points become the datasets' scores;
     * an abandoned or expired one leaves them unscored and says why; a review the run left behind
     * (stopped, failed) is cancelled and the run's own closing handles its datasets.
     */
    async closeManualReview({ runId }: { runId: string }): Promise<{ status: ReviewGateState['status'] }> {
      const review = await reviewOf(runId);
      if (review.status === 'pending' || review.status === 'awaiting-launch' || review.status === 'in-review') {
        await cancelReview(db, runId, 'the run ended before the manual evaluation did');
        return { status: 'cancelled' };
      }
      await closeReviewedDatasets({ db, logger }, review);
      return { status: review.status };
    },
  };
}

/** "14 day(s)", "48 hour(s)", "30 second(s)": the largest whole unit, as the owner would say it. */
function describeSpan(ms: number): string {
  for (const [unit, size] of [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ] as const) {
    if (ms >= size) return `${Math.round((ms / size) * 10) / 10} ${unit}(s)`;
  }
  return `${Math.round(ms / 1000)} second(s)`;
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
