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

export const SIGNALS = {
  stop: 'stop',
  /** Sent to a private run waiting in the container queue when units may have become free. */
  containerUnitsFreed: 'containerUnitsFreed',
} as const;

export interface StopSignalArgs {
  requestedBy: string;
  reason?: string;
}
