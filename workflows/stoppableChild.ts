/**
 * A child workflow that a cancellation of the calling scope (a run's stop) reaches whenever it
 * comes.
 *
 * A child started inside a scope is cancelled by the SDK the moment the scope is; if the child has
 * been initiated but not yet started, Temporal refuses that request
 * (RequestCancelExternalWorkflowExecutionFailed) and nothing asks again: the stop is lost and the
 * child's batch runs to its end. Seen under load as a stopped run whose samples timed out instead.
 * So the child is started out of the scope's reach, and the cancel is sent once it is known to run,
 * by workflow id alone, so it also finds a child that has continued as new.
 */
import {
  CancellationScope,
  getExternalWorkflowHandle,
  startChild,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';

export async function executeStoppableChild<Input, Result>(
  workflow: (input: Input) => Promise<Result>,
  options: Omit<ChildWorkflowOptions, 'typeInfo' | 'args'> & { workflowId: string; args: [Input] },
): Promise<Result> {
  const scope = CancellationScope.current();
  if (scope.consideredCancelled) await scope.cancelRequested;
  const child = await CancellationScope.nonCancellable(() => startChild(workflow, options));
  let ended = false;
  scope.cancelRequested.catch(() => {
    if (ended) return;
    // Refused only when the child has ended meanwhile, which is what the cancel wanted anyway.
    void CancellationScope.nonCancellable(() => getExternalWorkflowHandle(child.workflowId).cancel()).catch(
      () => undefined,
    );
  });
  try {
    return await child.result();
  } finally {
    ended = true;
  }
}
