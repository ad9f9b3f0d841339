/**
 * One dataset of a multimodal private deployment: a single run.sh job on a container host, fed by
 * that host's data server, whose outputs the host scores and stores itself (workflows/jobDataset.ts
 * closes the dataset on its outcome).
 */
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import { multimodalOn, multimodalPlacement, type lifecycle } from './activityProxies';
import { evaluateInOneJob } from './jobDataset';

export function evaluateWithRunScript(
  input: DatasetWorkflowInput,
  control: typeof lifecycle,
): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  return evaluateInOneJob(input, control, async () => {
    const { hostQueue } = await multimodalPlacement.placeMultimodalJob({ runId });
    return multimodalOn(hostQueue).runMultimodalJob({ runId, datasetId });
  });
}
