/**
 * One dataset of a CV or Audio backbone evaluation: a single fine-tune job on a container host,
 * which stores its results itself (workflows/jobDataset.ts closes the dataset on its outcome).
 */
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
import { backboneOn, backbonePlacement, type lifecycle } from './activityProxies';
import { evaluateInOneJob } from './jobDataset';

export function evaluateByFineTuning(
  input: DatasetWorkflowInput,
  control: typeof lifecycle,
): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  return evaluateInOneJob(input, control, async () => {
    const { hostQueue } = await backbonePlacement.placeBackboneJob({ runId });
    return backboneOn(hostQueue).runBackboneJob({ runId, datasetId });
  });
}
