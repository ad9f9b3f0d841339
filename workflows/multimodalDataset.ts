/**
 * One dataset of a multimodal private deployment: a single run.sh job on a container host, fed by
 * that host's data server, whose outputs the host scores and stores itself. A job that fails fails
 * the dataset with its reason (its samples failed with it), not the run; a stop closes it as
 * stopped once the job's container is gone.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import { multimodalOn, multimodalPlacement, type lifecycle } from './activityProxies';
import { failureReason } from './failureReason';

export async function evaluateWithRunScript(
  input: DatasetWorkflowInput,
  control: typeof lifecycle,
): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  let failure: string | null;
  try {
    const { hostQueue } = await multimodalPlacement.placeMultimodalJob({ runId });
    failure = (await multimodalOn(hostQueue).runMultimodalJob({ runId, datasetId })).failure;
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
