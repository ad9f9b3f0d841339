/**
 * The life cycle of one run (a verification or a formal evaluation): a formal run first waits for
 * its model to be ready; datasets are evaluated one after another, each in its own child workflow; a
 * stop signal cancels whatever is in flight; the run is then closed, its scores computed and its
 * report written, whatever happened before. A formal run that failed before its model was ready
 * gets its quota slot back when it is closed.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  executeChild,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import {
  runProgressQuery,
  stopSignal,
  type DatasetWorkflowInput,
  type RunProgress,
  type RunWorkflowInput,
  type RunWorkflowResult,
  type StopSignalArgs,
} from '../contracts/workflow';
import type { RunPlan } from '../activities/runLifecycle';
import { workflowIds } from '../temporal.config';
import { evaluateDataset } from './evaluateDataset';
import { bookkeeping, containers, reports, type lifecycle } from './activityProxies';
import { publishRunStatus } from './runStatusAttribute';
import { failureReason } from './failureReason';
import { withServedModel } from './servedModel';
import { withContainerLease } from './containerLease';
import { planManualReviewGate } from './manualReview';
import { openPublication } from './leaderboardWindow';
import { executeStoppableChild } from './stoppableChild';
import { PATCHES } from './patches';
import { endpointNotReady } from './endpointReadiness';

export async function runEvaluation({ runId }: RunWorkflowInput): Promise<RunWorkflowResult> {
  const datasetsScope = new CancellationScope();
  let stop: StopSignalArgs | null = null;
  setHandler(stopSignal, (args) => {
    stop ??= args;
    datasetsScope.cancel();
  });

  // Queries and current details are metadata, not history: replay-safe without a patch.
  const progress: RunProgress = { dataset: null, index: 0, of: 0, stopRequested: false };
  setHandler(runProgressQuery, () => ({ ...progress, stopRequested: stop !== null }));

  const control = bookkeeping();
  const plan = await control.beginRun({ runId });
  progress.of = plan.datasetIds.length;
  if (plan.endedAs) {
    publishRunStatus(plan.endedAs);
    return { status: plan.endedAs, overallScore: null };
  }
  publishRunStatus('running');
  const review = await planManualReviewGate(runId);
  // A formal run's model must be ready before its first dataset; until it is, a failure costs no quota.
  const awaitsReady = plan.readiness !== undefined && patched(PATCHES.endpointReadiness.id);
  let ready = !awaitsReady;

  let failure: string | null = null;
  try {
    await datasetsScope.run(async () => {
      if (!plan.serving) {
        if (awaitsReady && plan.readiness === 'api') {
          failure = await endpointNotReady(runId);
          if (failure) return;
        }
        ready = true;
        const evaluate = () => evaluateDatasets(control, runId, plan, async () => undefined, progress);
        // A multimodal private run's jobs hold its units as a model server would (its upload checked first).
        if (plan.containerUnits) await withContainerLease(runId, evaluate, () => containers.checkRunUpload({ runId }));
        else await evaluate();
        return;
      }
      // The served model is ready once withServedModel hands over its first endpoint (after the health wait).
      await withServedModel(runId, (endpointForNextDataset) => {
        ready = true;
        return evaluateDatasets(
          control,
          runId,
          plan,
          async () => {
            const { hostQueue, baseUrl } = await endpointForNextDataset();
            return { hostQueue, baseUrl };
          },
          progress,
        );
      });
    });
  } catch (err) {
    // Cancelling the workflow from the Temporal UI is a stop too.
    if (!isCancellation(err)) failure = failureReason(err);
    else stop ??= { requestedBy: 'temporal', reason: 'workflow cancelled' };
  }

  // Subjective datasets wait for their manual evaluation (docs/manual-review.md); a stop ends the wait.
  if (review && !stop && !failure) {
    try {
      await datasetsScope.run(() => review.wait());
    } catch (err) {
      if (!isCancellation(err)) failure = failureReason(err);
      else stop ??= { requestedBy: 'temporal', reason: 'workflow cancelled' };
    }
  }
  if (review) await CancellationScope.nonCancellable(() => review.close());

  const outcome = stop ? 'stopped' : failure ? 'failed' : 'completed';
  const reason = failure ?? (stop ? `stopped by ${stop.requestedBy}${stop.reason ? `: ${stop.reason}` : ''}` : null);
  const ended = await CancellationScope.nonCancellable(async () => {
    const refund = outcome === 'failed' && !ready;
    const result = await control.finishRun({ runId, outcome, reason, ...(refund ? { refund } : {}) });
    await reports.buildRunReport({ runId });
    return result;
  });
  publishRunStatus(ended.status);
  // A formal run that succeeded may be published on its leaderboard for a while (docs/leaderboard.md).
  if (ended.status === 'succeeded' && patched(PATCHES.leaderboardWindow.id)) await openPublication(runId);
  return ended;
}

/** Datasets one after another; one that breaks is recorded as failed and the run goes on. */
async function evaluateDatasets(
  control: typeof lifecycle,
  runId: string,
  plan: RunPlan,
  servingFor: () => Promise<DatasetWorkflowInput['serving']>,
  progress?: RunProgress,
): Promise<void> {
  for (const [index, datasetId] of plan.datasetIds.entries()) {
    if (progress) Object.assign(progress, { dataset: datasetId, index: index + 1 });
    // For operators in the Temporal UI (metadata, not history: replay-safe); the child says how far it is.
    setCurrentDetails(
      `Dataset ${index + 1} of ${plan.datasetIds.length}: **${datasetId}** (its workflow: \`${workflowIds.dataset(runId, datasetId)}\`)`,
    );
    try {
      const serving = await servingFor();
      const child = {
        workflowId: workflowIds.dataset(runId, datasetId),
        args: [{ runId, datasetId, batching: plan.batching, ...(serving ? { serving } : {}) }] as [
          DatasetWorkflowInput,
        ],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      };
      // Runs begun before the patch replay the child started inside the stop's scope (workflows/stoppableChild.ts).
      if (patched(PATCHES.stoppableDatasetChild.id)) await executeStoppableChild(evaluateDataset, child);
      else await executeChild(evaluateDataset, child);
    } catch (err) {
      if (isCancellation(err)) throw err;
      await control.finishDataset({ runId, datasetId, outcome: 'aborted', reason: failureReason(err) });
    }
  }
  if (progress) progress.dataset = null;
  setCurrentDetails(`All ${plan.datasetIds.length} dataset(s) evaluated; closing the run`);
}
