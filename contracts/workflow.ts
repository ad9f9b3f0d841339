/**
 * What crosses the Temporal boundary: workflow inputs and outputs and the names of signals.
 * Only IDs and counts: no per-sample data and no secret ever enters workflow history.
 */
import type { Batching, RunStatus } from './run';

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
  /** Position to resume from after continue-as-new. */
  nextPosition?: number;
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

export const SIGNALS = {
  stop: 'stop',
  /** Sent to a private run waiting in the container queue when units may have become free. */
  containerUnitsFreed: 'containerUnitsFreed',
  /** To a run waiting for its manual evaluation: the owner launched it (contracts/review.ts). */
  manualEvaluationLaunched: 'manualEvaluationLaunched',
  /** To a run waiting for its manual evaluation: an admin gave it up. */
  manualReviewAbandoned: 'manualReviewAbandoned',
} as const;

/** Updates: a human step that needs an answer (accepted or refused by the workflow's validator). */
export const UPDATES = {
  /** To a run's publication workflow: publish it on the leaderboard, named or anonymous (contracts/leaderboard.ts). */
  submitToLeaderboard: 'submitToLeaderboard',
  /** To a run in manual review: reviewers completed it (the record says so first; the validator refuses a review the run is not waiting for). */
  completeManualReview: 'completeManualReview',
} as const;

export interface StopSignalArgs {
  requestedBy: string;
  reason?: string;
}
