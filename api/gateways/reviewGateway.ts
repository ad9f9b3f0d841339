/**
 * What the API tells a run's workflow about its manual evaluation. The record has already changed
 * when these are sent: they only wake the workflow, which reads the record back. A workflow that
 * cannot be reached wakes on its own at its next timer, so these report trouble and never undo.
 */
import { WorkflowNotFoundError, type SignalDefinition } from '@temporalio/common';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { workflowIds } from '../../temporal.config';
import {
  completeManualReviewUpdate,
  manualEvaluationLaunchedSignal,
  manualReviewAbandonedSignal,
} from '../../contracts/workflow';
import type { ManualEvaluationLaunchedArgs, ReviewAbandonedArgs, ReviewCompletedArgs } from '../../contracts/review';

/** How long the API waits for a worker to accept the completion before answering anyway. */
const UPDATE_DEADLINE_MS = 10_000;

export type Delivery = 'delivered' | 'no-workflow' | 'refused';

async function signal<Args extends unknown[]>(
  client: Client,
  runId: string,
  definition: SignalDefinition<Args>,
  ...args: Args
): Promise<Delivery> {
  try {
    await client.workflow.getHandle(workflowIds.run(runId)).signal(definition, ...args);
    return 'delivered';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'no-workflow';
    throw error;
  }
}

export function signalManualEvaluationLaunched(
  client: Client,
  runId: string,
  args: ManualEvaluationLaunchedArgs,
): Promise<Delivery> {
  return signal(client, runId, manualEvaluationLaunchedSignal, args);
}

export function signalManualReviewAbandoned(
  client: Client,
  runId: string,
  args: ReviewAbandonedArgs,
): Promise<Delivery> {
  return signal(client, runId, manualReviewAbandonedSignal, args);
}

/** The completion as an update: the workflow's validator refuses a review it is not waiting for. */
export async function updateManualReviewCompleted(
  client: Client,
  runId: string,
  args: ReviewCompletedArgs,
): Promise<Delivery> {
  try {
    await client.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      client.workflow.getHandle(workflowIds.run(runId)).executeUpdate(completeManualReviewUpdate, { args: [args] }),
    );
    return 'delivered';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'no-workflow';
    if (error instanceof WorkflowUpdateFailedError) return 'refused';
    throw error;
  }
}
