/**
 * One dataset evaluated by the run's custom image: a single container job on a container host (a
 * private run's own host, next to its model server), which stores the image's metrics itself
 * (workflows/jobDataset.ts closes the dataset on its outcome).
 */
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import { customImageOn, customImagePlacement, type lifecycle } from './activityProxies';
import { evaluateInOneJob } from './jobDataset';

export function evaluateWithCustomImage(
  input: DatasetWorkflowInput,
  control: typeof lifecycle,
): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  return evaluateInOneJob(input, control, async () => {
    const hostQueue = input.serving?.hostQueue ?? (await customImagePlacement.placeCustomImageJob({ runId })).hostQueue;
    return customImageOn(hostQueue).runCustomImageJob({
      runId,
      datasetId,
      ...(input.serving ? { servingUrl: input.serving.baseUrl } : {}),
    });
  });
}
