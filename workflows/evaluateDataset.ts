/**
 * One dataset of a run: its samples go through inference in batches, one activity per batch.
 * Results live in PostgreSQL; the history holds only batch counts, and the workflow continues as
 * new every so many batches, so a dataset of any size keeps each execution's history bounded.
 *
 * A judge-scored dataset (patch `judge-scoring`) follows each inference batch with a judgeBatch
 * over the same range on the judge queue. Judging batch k overlaps inference of batch k + 1, so
 * the judge and the model work at once; at most one judgement is in flight, and it is awaited
 * before the next starts, before continue-as-new and before the dataset closes.
 *
 * A pass_at_k dataset (patch `code-scoring`) does the same with scoreCodeBatch on a container
 * host: the batch's completions run in the code sandbox while the next batch is inferred.
 *
 * A formal run measuring robustness (patch `robustness-pass`) then asks every sample again with its
 * prompt perturbed, batch by batch, stored apart from the clean results. Its progress rides in
 * `nextPosition` past the end of the clean pass (total + k), so continue-as-new needs no new field.
 */
import { CancellationScope, continueAsNew, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { DatasetWorkflowInput, DatasetWorkflowResult } from '../contracts/workflow';
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

export async function evaluateDataset(input: DatasetWorkflowInput): Promise<DatasetWorkflowResult> {
  const { runId, datasetId } = input;
  const control = bookkeeping();
  const begun = await control.beginDataset({ runId, datasetId });
  const { total } = begun;
  // Runs begun before datasets had sizes of their own recorded none: the run's batching then (replay-safe).
  const batching = { ...input.batching, samplesPerBatch: begun.samplesPerBatch ?? input.batching.samplesPerBatch };
  const inference = input.serving ? inferenceOn(input.serving.hostQueue) : httpInference;
  const judged = begun.judged === true && patched(PATCHES.judgeScoring.id);
  const code =
    begun.code && patched(PATCHES.codeScoring.id) ? codeScoring(batching.samplesPerBatch, begun.code.n) : null;

  let position = input.nextPosition ?? 0;
  let abortReason: string | null = null;
  // The judgement in flight, settled to its error (or null) so it never rejects unobserved.
  let judgement: Promise<unknown> | null = null;
  const settleJudgement = async (): Promise<void> => {
    if (!judgement) return;
    const error = await judgement;
    judgement = null;
    if (error === null) return;
    if (isCancellation(error)) throw error;
    abortReason ??= `${code ? 'code scoring' : 'judging'} failed: ${failureReason(error)}`;
  };
  const stopped = async (err: unknown): Promise<never> => {
    // The judgement in flight is cancelled with the batch; its last writes land before the dataset closes.
    if (judgement) await judgement;
    await CancellationScope.nonCancellable(() => control.finishDataset({ runId, datasetId, outcome: 'stopped' }));
    throw err;
  };

  for (let batches = 0; position < total && !abortReason; batches++) {
    if (batches >= batching.batchesPerExecution || workflowInfo().continueAsNewSuggested) {
      try {
        await settleJudgement();
      } catch (err) {
        return stopped(err);
      }
      await continueAsNew<typeof evaluateDataset>({ ...input, nextPosition: position });
    }
    const to = Math.min(position + batching.samplesPerBatch, total);
    try {
      const batch = await inference.inferBatch({
        runId,
        datasetId,
        from: position,
        to,
        ...(input.serving ? { servingUrl: input.serving.baseUrl } : {}),
      });
      abortReason = batch.abortReason;
    } catch (err) {
      if (isCancellation(err)) return stopped(err);
      abortReason = failureReason(err);
    }
    if (judged) {
      try {
        await settleJudgement();
      } catch (err) {
        return stopped(err);
      }
      // What the batch stored is judged even when the batch ended the dataset.
      judgement = judging.judgeBatch({ runId, datasetId, from: position, to }).then(
        () => null,
        (error: unknown) => error,
      );
    } else if (code) {
      try {
        await settleJudgement();
      } catch (err) {
        return stopped(err);
      }
      judgement = code.scoreCodeBatch({ runId, datasetId, from: position, to }).then(
        () => null,
        (error: unknown) => error,
      );
    }
    position = to;
  }
  try {
    await settleJudgement();
  } catch (err) {
    return stopped(err);
  }

  if (begun.robustness && !abortReason && patched(PATCHES.robustnessPass.id)) {
    const perturbed = robustnessOn(input.serving?.hostQueue);
    let batches = 0;
    for (let at = Math.max(0, position - total); at < total && !abortReason; batches++) {
      if (batches >= batching.batchesPerExecution || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof evaluateDataset>({ ...input, nextPosition: total + at });
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
        if (isCancellation(err)) return stopped(err);
        // The clean pass stands, and the dataset with it: its robustness covers the samples the perturbed pass stored.
        break;
      }
      at = to;
    }
  }

  const { status } = await control.finishDataset({
    runId,
    datasetId,
    outcome: abortReason ? 'aborted' : 'completed',
    reason: abortReason,
  });
  return { datasetId, status };
}
