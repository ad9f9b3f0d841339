/**
 * What the API asks of Temporal about runs: start a run's workflow, signal it to stop. Routes call
 * these so that workflow names, IDs, task queues and search attributes stay in one place.
 */
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ERROR_TYPES, workflowIds } from '../../temporal.config';
import { stopSignal, submitToLeaderboardUpdate, type StopSignalArgs } from '../../contracts/workflow';
import type { LeaderboardSubmission, LeaderboardSubmissionResult } from '../../contracts/leaderboard';

export { startRunWorkflow, type RunToStart } from '../../temporalClient/runWorkflowStart';

/**
 * Asks the run's workflow to stop. Returns false when no such workflow exists (its start failed or
 * has not happened yet), so the caller can close the run in the database instead.
 */
export async function signalStop(client: Client, runId: string, args: StopSignalArgs): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowIds.run(runId)).signal(stopSignal, args);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

export type LeaderboardRefusal = 'alreadySubmitted' | 'windowClosed' | 'invalid' | 'noWorkflow';

/**
 * Sends the owner's leaderboard submission to the run's publication workflow and waits for the
 * stored entry. A refusal by the workflow's validator (or a workflow that has ended or never
 * started) comes back as a reason, not an exception; anything else (Temporal unreachable) throws.
 */
export async function submitToLeaderboard(
  client: Client,
  runId: string,
  submission: LeaderboardSubmission,
): Promise<
  { ok: true; entry: LeaderboardSubmissionResult } | { ok: false; refusal: LeaderboardRefusal; message: string }
> {
  try {
    const entry = await client.workflow
      .getHandle(workflowIds.leaderboard(runId))
      .executeUpdate(submitToLeaderboardUpdate, { args: [submission] });
    return { ok: true, entry };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { ok: false, refusal: 'noWorkflow', message: error.message };
    if (error instanceof WorkflowUpdateFailedError) {
      // The validator's failure is the cause; one from the handler's activity is wrapped once more.
      let cause: unknown = error.cause;
      while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
      if (!(cause instanceof ApplicationFailure)) cause = null;
      const failure = cause as ApplicationFailure | null;
      const refusal: LeaderboardRefusal =
        failure?.type === ERROR_TYPES.leaderboardAlreadySubmitted
          ? 'alreadySubmitted'
          : failure?.type === ERROR_TYPES.leaderboardWindowClosed
            ? 'windowClosed'
            : 'invalid';
      return { ok: false, refusal, message: failure?.message ?? error.message };
    }
    throw error;
  }
}
