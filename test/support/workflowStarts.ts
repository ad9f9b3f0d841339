/**
 * Workflow starts in tests: a run's workflow started by hand, as the API would start it minus the
 * search attributes, and a hook that steps between an API's launch and Temporal.
 */
import type { Client } from '@temporalio/client';
import { TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import type { runEvaluation } from '../../workflows/runEvaluation';

/** Starts the run's workflow on its queue under its deterministic ID; the handle's result is the run's. */
export function startRunByHand(client: Client, runId: string) {
  return client.workflow.start<typeof runEvaluation>(WORKFLOW_TYPES.run, {
    workflowId: workflowIds.run(runId),
    taskQueue: TASK_QUEUES.runs,
    args: [{ runId }],
  });
}

/**
 * The first `held` workflow starts wait until `release`, so a replay of the same launch reaches
 * Temporal first, and the starts numbered in `failing` (0-based, in call order) throw as an
 * unreachable server would. `restore` undoes it.
 */

export function interceptWorkflowStarts(client: Client, o: { held?: number; failing?: number[] } = {}) {
  const workflows = client.workflow;
  const start = workflows.start.bind(workflows);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  workflows.start = (async (...args: Parameters<typeof start>) => {
    const call = calls++;
    if (call < (o.held ?? 1)) await held;
    if (o.failing?.includes(call)) throw new Error('14 UNAVAILABLE: connection refused');
    return start(...args);
  }) as typeof workflows.start;
  return {
    calls: () => calls,
    release: () => release(),
    restore: () => {
      release();
      delete (workflows as Partial<typeof workflows>).start;
    },
  };
}
