/**
 * One dataset of a run: its samples go through inference in batches, one activity per batch.
 * Results live in PostgreSQL; the history holds only batch counts, and the workflow continues as
 * new every so many batches, so a dataset of any size keeps each execution's history bounded.
 */
import { CancellationScope, continueAsNew, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import { inference as httpInference, inferenceOn, lifecycle } from './activityProxies';
import { failureReason } from './failureReason';

export async function evaluateDataset(input: DatasetWorkflowInput): Promise<DatasetWorkflowResult> {
  const { runId, datasetId, batching } = input;
  const { total } = await lifecycle.beginDataset({ runId, datasetId });
  const inference = input.serving ? inferenceOn(input.serving.hostQueue) : httpInference;

  let position = input.nextPosition ?? 0;
  let abortReason: string | null = null;
  for (let batches = 0; position < total && !abortReason; batches++) {
    if (batches >= batching.batchesPerExecution || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof evaluateDataset>({ ...input, nextPosition: position });
    }
    const to = Math.min(position + batching.samplesPerBatch, total);
    try {
      const batch = await inference.inferBatch({ runId, datasetId, from: position, to, ...(input.serving ? { servingUrl: input.serving.baseUrl } : {}) });
      abortReason = batch.abortReason;
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => lifecycle.finishDataset({ runId, datasetId, outcome: 'stopped' }));
        throw err;
      }
      abortReason = failureReason(err);
    }
    position = to;
  }

  const { status } = await lifecycle.finishDataset({ runId, datasetId, outcome: abortReason ? 'aborted' : 'completed', reason: abortReason });
  return { datasetId, status };
}
