/**
 * The scoring debug call's judge calls, handed to a judge worker: the API starts the short
 * debugScoring workflow and waits, bounded, for its traces. The API never talks to a judge itself;
 * judges may sit where only workers can reach them.
 *
 * When the bound passes, the workflow is asked where it stands, so the caller hears which worker
 * was missing (no worker took the call from its queue) or slow (the judge worker had it but did
 * not finish); then it is terminated, so a worker that turns up later asks no judge for nobody.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, TimeoutFailure, TimeoutType, WorkflowIdReusePolicy } from '@temporalio/common';
import { ERROR_TYPES, TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import type { ScoringDebugInput } from '../../contracts/scoringDebug';
import type { debugScoring } from '../../workflows/debugScoring';
import type { ScoringTrace } from '../../contracts/scoringTrace';

export type ScoringDebugOutcome =
  | { ok: true; traces: ScoringTrace[]; workflowId: string }
  | {
      ok: false;
      /**
       * noWorkflowWorker / noJudgeWorker: nothing took the call off that queue in time;
       * judgeWorkerLate: the judge worker had it but did not answer in time; keyGone: the judge key's
       * row went away (its evaluation deleted); unavailable: Temporal did not take or answer the call.
       */
      reason: 'noWorkflowWorker' | 'noJudgeWorker' | 'judgeWorkerLate' | 'keyGone' | 'unavailable';
      message: string;
      workflowId: string;
    };

const NO_JUDGE_WORKER = `no worker serving the judge task queue ${TASK_QUEUES.judge} took the call in time; start one (PROCTOR_WORKER_QUEUES=judge)`;
const JUDGE_WORKER_LATE = `the judge worker (task queue ${TASK_QUEUES.judge}) took the call but did not answer in time`;

/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED: queued, no worker has it. */
const ACTIVITY_SCHEDULED = 1;

/** Past the caller's bound the API terminates the workflow; this only cleans up after an API that died waiting. */
const ORPHAN_MARGIN_MS = 30_000;

export async function runScoringDebug(
  client: Client,
  input: ScoringDebugInput,
  waitMs: number,
): Promise<ScoringDebugOutcome> {
  const workflowId = workflowIds.scoringDebug(randomUUID());
  let handle: WorkflowHandle<typeof debugScoring>;
  try {
    handle = await client.workflow.start<typeof debugScoring>(WORKFLOW_TYPES.scoringDebug, {
      workflowId,
      taskQueue: TASK_QUEUES.runs,
      args: [input],
      workflowExecutionTimeout: waitMs + ORPHAN_MARGIN_MS,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (error) {
    return {
      ok: false,
      reason: 'unavailable',
      message: `the workflow service did not accept the call: ${(error as Error).message}`,
      workflowId,
    };
  }

  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), waitMs)));
  const result = handle.result();
  // Lost races still settle (the workflow is terminated below); nobody is left to hear them.
  result.catch(() => {});
  try {
    const settled = await Promise.race([result, expired]);
    if (settled !== 'expired') return { ok: true, traces: settled.traces, workflowId };
  } catch (error) {
    const failure = error instanceof WorkflowFailedError ? causeOf(error) : null;
    if (failure?.type === ERROR_TYPES.invalidConfiguration)
      return { ok: false, reason: 'keyGone', message: failure.message, workflowId };
    // Only when the API's own wait lost a race with the activity's bound, which is set longer.
    const timeout = error instanceof WorkflowFailedError ? timeoutOf(error) : null;
    if (timeout === TimeoutType.SCHEDULE_TO_START)
      return { ok: false, reason: 'noJudgeWorker', message: NO_JUDGE_WORKER, workflowId };
    if (timeout !== null) return { ok: false, reason: 'judgeWorkerLate', message: JUDGE_WORKER_LATE, workflowId };
    return {
      ok: false,
      reason: 'unavailable',
      message: `the debug call failed in the workflow service: ${(error as Error).message}`,
      workflowId,
    };
  } finally {
    clearTimeout(timer);
  }

  const stalled = await whereItStalled(handle);
  await handle.terminate('the API stopped waiting for the scoring debug call').catch(() => {});
  return { ...stalled, workflowId };
}

function timeoutOf(error: Error): TimeoutType | null {
  let cause: unknown = error.cause;
  while (cause instanceof Error && !(cause instanceof TimeoutFailure)) cause = cause.cause;
  return cause instanceof TimeoutFailure ? cause.timeoutType : null;
}

function causeOf(error: Error): ApplicationFailure | null {
  let cause: unknown = error.cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  return cause instanceof ApplicationFailure ? cause : null;
}

async function whereItStalled(handle: WorkflowHandle): Promise<{
  ok: false;
  reason: 'noWorkflowWorker' | 'noJudgeWorker' | 'judgeWorkerLate' | 'unavailable';
  message: string;
}> {
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    return {
      ok: false,
      reason: 'unavailable',
      message: `the debug call did not finish in time and the workflow service did not say why: ${(error as Error).message}`,
    };
  }
  const activity = description.raw.pendingActivities?.[0];
  if (!activity) {
    return {
      ok: false,
      reason: 'noWorkflowWorker',
      message: `no worker serving the ${TASK_QUEUES.runs} task queue took the call in time; start one (PROCTOR_WORKER_QUEUES=runs)`,
    };
  }
  if (activity.state === ACTIVITY_SCHEDULED && (activity.attempt ?? 1) > 1) {
    return {
      ok: false,
      reason: 'judgeWorkerLate',
      message: `the judge worker (task queue ${TASK_QUEUES.judge}) failed the call ${(activity.attempt ?? 2) - 1} time(s) (last: ${activity.lastFailure?.message ?? 'unknown'}) and did not answer in time`,
    };
  }
  if (activity.state === ACTIVITY_SCHEDULED) {
    return { ok: false, reason: 'noJudgeWorker', message: NO_JUDGE_WORKER };
  }
  return { ok: false, reason: 'judgeWorkerLate', message: JUDGE_WORKER_LATE };
}
