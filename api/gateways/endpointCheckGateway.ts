/**
 * The endpoint check, handed to an inference worker: the API asks Temporal whether any worker polls
 * the inference queue (none: an immediate answer saying so), starts the short endpointCheck
 * workflow and waits, bounded, for its report. A check not answered in time is terminated, so a
 * worker that turns up later calls nobody's endpoint.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { ENDPOINT_CHECK_WAIT_MS, type EndpointCheckView } from '../../contracts/endpointCheck';
import type { endpointCheck } from '../../workflows/endpointCheck';

export type EndpointCheckOutcome =
  | { ok: true; view: EndpointCheckView }
  | { ok: false; reason: 'noWorker' | 'late' | 'failed' | 'unavailable'; message: string };

const GRACE_MS = 2_000;
const NO_WORKER = `no worker serves the inference task queue ${TASK_QUEUES.inference}, which makes the check's calls; start one (PROCTOR_WORKER_QUEUES=inference)`;

export async function runEndpointCheck(client: Client, evaluationId: string): Promise<EndpointCheckOutcome> {
  try {
    const queue = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: {
        name: TASK_QUEUES.inference,
        kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
      },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if ((queue.pollers ?? []).length === 0) return { ok: false, reason: 'noWorker', message: NO_WORKER };
  } catch (error) {
    return {
      ok: false,
      reason: 'unavailable',
      message: `the workflow service did not answer: ${(error as Error).message}`,
    };
  }

  const workflowId = workflowIds.endpointCheck(randomUUID());
  let handle;
  try {
    handle = await client.workflow.start<typeof endpointCheck>(WORKFLOW_TYPES.endpointCheck, {
      workflowId,
      taskQueue: TASK_QUEUES.runs,
      args: [{ evaluationId }],
      workflowExecutionTimeout: ENDPOINT_CHECK_WAIT_MS + 30_000,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (error) {
    return {
      ok: false,
      reason: 'unavailable',
      message: `the workflow service did not take the check: ${(error as Error).message}`,
    };
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>(
    (resolve) => (timer = setTimeout(() => resolve('expired'), ENDPOINT_CHECK_WAIT_MS + GRACE_MS)),
  );
  const result = handle.result();
  result.catch(() => {});
  try {
    const settled = await Promise.race([result, expired]);
    if (settled !== 'expired') return { ok: true, view: settled };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? (error.cause?.cause ?? error.cause) : error;
    return {
      ok: false,
      reason: 'failed',
      message: `the check failed on the worker: ${(cause as Error)?.message ?? String(cause)}`,
    };
  } finally {
    clearTimeout(timer);
  }
  await handle.terminate('the API stopped waiting for the endpoint check').catch(() => {});
  return {
    ok: false,
    reason: 'late',
    message: `no answer from an inference worker within ${(ENDPOINT_CHECK_WAIT_MS + GRACE_MS) / 1000} s (workers of ${TASK_QUEUES.runs} and ${TASK_QUEUES.inference} must both run)`,
  };
}
