/**
 * A dataset evaluated by one container job rather than in batches (a custom image, a multimodal
 * run.sh): the job stores its results itself, and the dataset closes on what it says. A job that
 * fails fails the dataset with its reason, not the run; a stop closes it as stopped once the job's
 * container is gone.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import type { lifecycle } from './activityProxies';
import { failureReason } from './failureReason';

export async function evaluateInOneJob(
  input: DatasetWorkflowInput,
  control: typeof lifecycle,
  job: () => Promise<{ failure: string | null }>,
): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  let failure: string | null;
  try {
    failure = (await job()).failure;
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => control.finishDataset({ runId, datasetId, outcome: 'stopped' }));
      throw err;
    }
    failure = failureReason(err);
  }
  const { status } = await control.finishDataset({
    runId,
    datasetId,
    outcome: failure ? 'aborted' : 'completed',
    reason: failure,
  });
  return { datasetId, status };
}
