/**
 * One dataset evaluated by the run's custom image: a single container job on a container host (a
 * private run's own host, next to its model server), which stores the image's metrics itself. A
 * job that fails fails the dataset with its reason, not the run; a stop closes it as stopped once
 * the job's container is gone.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import { customImageOn, customImagePlacement, type lifecycle } from './activityProxies';
import { failureReason } from './failureReason';

export async function evaluateWithCustomImage(
  input: DatasetWorkflowInput,
  control: typeof lifecycle,
): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  let failure: string | null;
  try {
    const hostQueue = input.serving?.hostQueue ?? (await customImagePlacement.placeCustomImageJob({ runId })).hostQueue;
    const job = await customImageOn(hostQueue).runCustomImageJob({
      runId,
      datasetId,
      ...(input.serving ? { servingUrl: input.serving.baseUrl } : {}),
    });
    failure = job.failure;
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
