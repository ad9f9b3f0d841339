/**
 * The manual-review gate of a run (docs/manual-review.md). Planned as the run begins; after
 * inference it waits — days if need be, holding no worker — for the owner to launch the manual
 * evaluation and then for reviewers to complete it, and before the run closes it turns the
 * reviewers' points into the held datasets' scores (or leaves them unscored, saying why).
 *
 * The record decides where a review stands; the API changes it first and then nudges the workflow
 * (a signal, or an update with a validator for completion). Every nudge and every timer is
 * followed by an activity that reads the record back, so a nudge that never arrives costs at
 * most one timer: the launch window's end, or the next reminder.
 */
import { condition, patched, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import { ACTIVITY_OPTIONS, LOCAL_ACTIVITY_OPTIONS } from '../temporal.config';
import { PATCHES } from './patches';
import {
  completeManualReviewUpdate,
  manualEvaluationLaunchedSignal,
  manualReviewAbandonedSignal,
} from '../contracts/workflow';
import type { ReviewGateState } from '../contracts/review';
import type { ReviewActivities } from '../activities/review/reviewActivities';

const reviews = proxyActivities<ReviewActivities>(ACTIVITY_OPTIONS.control);
const localReviews = proxyLocalActivities<ReviewActivities>(LOCAL_ACTIVITY_OPTIONS.control);

export interface ManualReviewGate {
  /** After inference: until the review ends. Cancelled (the run's stop) like any wait of its scope. */
  wait(): Promise<void>;
  /** Whatever happened, before the run closes: apply the scores, or leave the datasets unscored. */
  close(): Promise<void>;
}

/** The run's gate, or null when it has nothing for reviewers (or began before the gate existed). */
export async function planManualReviewGate(runId: string): Promise<ManualReviewGate | null> {
  // Runs begun before the gate existed replay without it.
  if (!patched(PATCHES.manualReviewGate.id)) return null;
  // Planning is bookkeeping at the run's start, local like the rest of it (activityProxies.ts).
  const plan = await (patched(PATCHES.localBookkeeping.id) ? localReviews : reviews).planManualReview({ runId });
  if (!plan.reviewed) return null;

  let phase: 'inferring' | ReviewGateState['status'] = 'inferring';
  let nudges = 0;
  setHandler(manualEvaluationLaunchedSignal, () => void nudges++);
  setHandler(manualReviewAbandonedSignal, () => void nudges++);
  setHandler(
    completeManualReviewUpdate,
    () => {
      nudges++;
      return { accepted: true as const };
    },
    {
      validator: ({ reviewId }) => {
        if (reviewId !== plan.reviewId) throw new Error(`this run's review is ${plan.reviewId}, not ${reviewId}`);
        if (phase !== 'awaiting-launch' && phase !== 'in-review')
          throw new Error(`the run is not waiting for its review (${phase})`);
      },
    },
  );

  return {
    async wait() {
      let state = await reviews.openManualReviewGate({ runId });
      for (;;) {
        phase = state.status;
        if (state.status !== 'awaiting-launch' && state.status !== 'in-review') return;
        const seen = nudges;
        const nudged = await condition(
          () => nudges !== seen,
          (state.status === 'awaiting-launch' ? state.launchWindowLeftMs : state.reminderInMs) ?? 1000,
        );
        if (nudged) state = await reviews.manualReviewState({ runId });
        else if (state.status === 'awaiting-launch') state = await reviews.expireManualEvaluation({ runId });
        else state = await reviews.remindReviewers({ runId, number: state.reminders + 1 });
      }
    },
    async close() {
      phase = (await reviews.closeManualReview({ runId })).status;
    },
  };
}
