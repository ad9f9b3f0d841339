/**
 * One dataset of a run: its samples go through inference in batches, one activity per batch.
 * Results live in PostgreSQL; the history holds only batch counts, and the workflow continues as
 * new every so many batches, so a dataset of any size keeps each execution's history bounded.
 *
 * A judged dataset (patch `judge-scoring`) or a pass@k dataset (patch `code-scoring`) scores each
 * batch while the next one is inferred (workflows/pipelinedScoring.ts). A formal run measuring
 * robustness (patch `robustness-pass`) then asks every sample again with its prompt perturbed,
 * batch by batch, stored apart from the clean results.
 */
import {
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Batching } from '../contracts/run';
import {
  datasetProgressQuery,
  type DatasetProgress,
  type DatasetWorkflowInput,
  type DatasetWorkflowResult,
} from '../contracts/workflow';
import type { BegunDataset } from '../activities/runLifecycle';
import {
  bookkeeping,
  codeScoring,
  inference as httpInference,
  inferenceOn,
  judging,
  robustnessOn,
} from './activityProxies';
import { failureReason } from './failureReason';
import { PATCHES } from './patches';
import { pipelinedScoring, type ScoringStep } from './pipelinedScoring';
import { resumePositions } from './datasetProgress';
import { evaluateWithCustomImage } from './customImageDataset';
import { evaluateWithRunScript } from './multimodalDataset';
import { evaluateByFineTuning } from './backboneDataset';

export async function evaluateDataset(input: DatasetWorkflowInput): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  // Metadata, not history: replay-safe without a patch.
  const progress: DatasetProgress = { datasetId, inferredThrough: input.nextPosition ?? 0, total: null };
  setHandler(datasetProgressQuery, () => ({ ...progress }));
  const control = bookkeeping();
  const begun = await control.beginDataset({ runId, datasetId });
  progress.total = begun.total;
  // A custom image evaluates the whole dataset in one job (docs/custom-evaluation-images.md).
  if (begun.customImage) return evaluateWithCustomImage(input, control);
  // A multimodal private deployment answers the whole dataset in one run.sh job (docs/multimodal.md).
  if (begun.runScript) return evaluateWithRunScript(input, control);
  // A CV or Audio backbone is fine-tuned and scored on the dataset in one job (docs/backbones.md).
  if (begun.finetune) return evaluateByFineTuning(input, control);
  const { total } = begun;
  // Runs begun before datasets had sizes of their own recorded none: the run's batching then (replay-safe).
  const batching = { ...input.batching, samplesPerBatch: begun.samplesPerBatch ?? input.batching.samplesPerBatch };
  const inference = input.serving ? inferenceOn(input.serving.hostQueue) : httpInference;
  const serving = input.serving ? { servingUrl: input.serving.baseUrl } : {};
  const scoring = pipelinedScoring(scoringStep(begun, batching));
  const resume = resumePositions(input, total);

  let abortReason: string | null = null;
  try {
    // The clean pass.
    for (let batches = 0, position = resume.clean; position < total && !abortReason; batches++) {
      if (timeToContinueAsNew(batches, batching)) {
        const scoringFailed = await scoring.settle();
        // A scoring failure met here ends the dataset, as one met after any other batch does.
        // Executions begun before the patch continued as new past it, and replay that way.
        if (scoringFailed && patched(PATCHES.scoringFailureEndsDataset.id)) {
          abortReason = scoringFailed;
          break;
        }
        await continueAsNew<typeof evaluateDataset>({ ...input, nextPosition: position });
      }
      const range = { runId, datasetId, from: position, to: Math.min(position + batching.samplesPerBatch, total) };
      // For operators in the Temporal UI (metadata, not history: replay-safe).
      setCurrentDetails(`**${datasetId}**: inferring items ${range.from + 1}–${range.to} of ${total}`);
      try {
        abortReason = (await inference.inferBatch({ ...range, ...serving })).abortReason;
      } catch (err) {
        if (isCancellation(err)) throw err;
        abortReason = failureReason(err);
      }
      progress.inferredThrough = range.to;
      // What the batch stored is scored even when the batch ended the dataset.
      const scoringFailed = await scoring.next(range);
      abortReason ??= scoringFailed;
      position = range.to;
    }
    const scoringFailed = await scoring.settle();
    abortReason ??= scoringFailed;

    if (begun.robustness && !abortReason && patched(PATCHES.robustnessPass.id)) {
      await robustnessPass(input, { from: resume.perturbed, total }, batching);
    }
  } catch (err) {
    // A stop, wherever it reached the passes: the dataset closes as stopped once the writes in flight land.
    if (!isCancellation(err)) throw err;
    await scoring.drain();
    await CancellationScope.nonCancellable(() => control.finishDataset({ runId, datasetId, outcome: 'stopped' }));
    throw err;
  }

  const { status } = await control.finishDataset({
    runId,
    datasetId,
    outcome: abortReason ? 'aborted' : 'completed',
    reason: abortReason,
  });
  return { datasetId, status };
}

/** The step that scores each batch after inference, or null for a dataset scored as its answers are stored. */
function scoringStep(begun: BegunDataset, batching: Batching): ScoringStep | null {
  const judged = begun.judged === true && patched(PATCHES.judgeScoring.id);
  const code =
    begun.code && patched(PATCHES.codeScoring.id) ? codeScoring(batching.samplesPerBatch, begun.code.n) : null;
  if (judged) return { name: 'judging', score: (range) => judging.judgeBatch(range) };
  if (code) return { name: 'code scoring', score: (range) => code.scoreCodeBatch(range) };
  return null;
}

/**
 * The robustness pass: every sample asked again with its prompt perturbed, from `from` on. A batch
 * that fails ends the pass but not the dataset: the clean pass stands, and its robustness covers
 * the samples the perturbed pass stored. A stop is thrown.
 */
async function robustnessPass(
  input: DatasetWorkflowInput,
  { from, total }: { from: number; total: number },
  batching: Batching,
): Promise<void> {
  const { runId, datasetId } = input;
  const perturbed = robustnessOn(input.serving?.hostQueue);
  for (let batches = 0, at = from; at < total; batches++) {
    if (timeToContinueAsNew(batches, batching)) {
      await continueAsNew<typeof evaluateDataset>({ ...input, nextPosition: total, robustnessPosition: at });
    }
    const to = Math.min(at + batching.samplesPerBatch, total);
    try {
      await perturbed.inferPerturbedBatch({
        runId,
        datasetId,
        from: at,
        to,
        ...(input.serving ? { servingUrl: input.serving.baseUrl } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return;
    }
    at = to;
  }
}

function timeToContinueAsNew(batches: number, batching: Batching): boolean {
  return batches >= batching.batchesPerExecution || workflowInfo().continueAsNewSuggested;
}
