/**
 * What crosses the Temporal boundary: workflow inputs and outputs, and the signals and updates the
 * API and activities send to workflows. Only IDs and counts: no per-sample data and no secret ever
 * enters workflow history.
 *
 * The definitions are declared once here and imported by the workflows that handle them and by
 * whoever sends them, so a sender's arguments are checked against the handler's. They come from
 * @temporalio/workflow, whose define* functions need no workflow context; this module imports no
 * workflow code, so the API and the activities can import it. The names are what histories
 * recorded: changing one breaks every run in flight and every replay fixture that carries it.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Batching, RunStatus } from './run';
import type { ManualEvaluationLaunchedArgs, ReviewAbandonedArgs, ReviewCompletedArgs } from './review';
import type { LeaderboardSubmission, LeaderboardSubmissionResult } from './leaderboard';

export interface RunWorkflowInput {
  runId: string;
}

export interface RunWorkflowResult {
  status: RunStatus;
  overallScore: number | null;
}

export interface DatasetWorkflowInput {
  runId: string;
  datasetId: string;
  batching: Batching;
  /** Position the clean pass resumes from after continue-as-new. */
  nextPosition?: number;
  /**
   * Position the robustness pass resumes from after continue-as-new (the clean pass is then done).
   * Executions continued as new before this field existed carry it as `nextPosition` past the
   * dataset's end (total + position), which evaluateDataset still reads.
   */
  robustnessPosition?: number;
  /** Private runs: batches go to the container's host and ask its model service. */
  serving?: { hostQueue: string; baseUrl: string };
}

export interface DatasetWorkflowResult {
  datasetId: string;
  status: RunStatus;
}

export interface BatchInput {
  runId: string;
  datasetId: string;
  /** Half-open range of positions in the dataset run's sample plan. */
  from: number;
  to: number;
  /** Private runs: the base URL of the run's model container (its `/func`). */
  servingUrl?: string;
}

export interface BatchResult {
  /** Samples newly stored by this attempt (already-stored ones are skipped, not redone). */
  stored: number;
  skipped: number;
  failed: number;
  /** Set when the endpoint looked down for good and the dataset should stop trying. */
  abortReason: string | null;
}

/** Judging of a batch's samples of a judge metric (same range as its inference batch). */
export interface JudgeBatchInput {
  runId: string;
  datasetId: string;
  from: number;
  to: number;
}

export interface JudgeBatchResult {
  /** Samples this attempt moved from pending to scored or failed. */
  judged: number;
  failed: number;
}

export interface StopSignalArgs {
  requestedBy: string;
  reason?: string;
}

/** To a run: stop. Cancels the datasets in flight; the run then closes as stopped. */
export const stopSignal = defineSignal<[StopSignalArgs]>('stop');

/** Where a run's workflow stands, for operators (`temporal workflow query --name progress`). */
export interface RunProgress {
  /** The dataset in progress (null before the first and after the last). */
  dataset: string | null;
  /** Its place, from 1; 0 before the first. */
  index: number;
  of: number;
  stopRequested: boolean;
}
export const runProgressQuery = defineQuery<RunProgress>('progress');

/** Where a dataset's workflow stands: items up to `inferredThrough` have been asked (in this execution's reckoning). */
export interface DatasetProgress {
  datasetId: string;
  inferredThrough: number;
  total: number | null;
}
export const datasetProgressQuery = defineQuery<DatasetProgress>('progress');

/** To a private run waiting in the container queue: units may have become free, ask again now. */
export const containerUnitsFreedSignal = defineSignal('containerUnitsFreed');

/** To a run waiting for its manual evaluation: the owner launched it (contracts/review.ts). */
export const manualEvaluationLaunchedSignal = defineSignal<[ManualEvaluationLaunchedArgs]>('manualEvaluationLaunched');

/** To a run waiting for its manual evaluation: an admin gave it up. */
export const manualReviewAbandonedSignal = defineSignal<[ReviewAbandonedArgs]>('manualReviewAbandoned');

/**
 * To a run in manual review: reviewers completed it (the record says so first; the validator
 * refuses a review the run is not waiting for).
 */
export const completeManualReviewUpdate = defineUpdate<{ accepted: true }, [ReviewCompletedArgs]>(
  'completeManualReview',
);

/**
 * To a run's publication workflow: publish it on the leaderboard, named or anonymous
 * (contracts/leaderboard.ts). The validator refuses a second submission and one after the window.
 */
export const submitToLeaderboardUpdate = defineUpdate<LeaderboardSubmissionResult, [LeaderboardSubmission]>(
  'submitToLeaderboard',
);
