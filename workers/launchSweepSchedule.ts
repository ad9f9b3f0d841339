/**
 * The deployment's launch-sweep Schedule (temporal.config.ts LAUNCH_SWEEP), made sure of by every
 * worker of the runs queue as it starts: created when missing, brought in line when the interval,
 * workflow or policies written here changed, and otherwise left alone. An operator's pause (and its
 * note) survives a worker restart; deleting the schedule only lasts until the next worker start.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { LAUNCH_SWEEP, TASK_QUEUES } from '../temporal.config';
import type { LaunchSweepInput } from '../activities/launchSweep';
import type { launchSweep } from '../workflows/launchSweep';

export interface LaunchSweepScheduleOptions {
  /** LAUNCH_SWEEP's unless given: tests make schedules of their own beside (not instead of) the deployment's. */
  scheduleId?: string;
  every?: Duration;
  input?: LaunchSweepInput;
  /** Only when creating it: a paused schedule runs a sweep only when triggered. */
  paused?: boolean;
}

export type ScheduleOutcome = 'created' | 'updated' | 'unchanged';

export async function ensureLaunchSweepSchedule(
  client: Client,
  o: LaunchSweepScheduleOptions = {},
): Promise<ScheduleOutcome> {
  const scheduleId = o.scheduleId ?? LAUNCH_SWEEP.scheduleId;
  const every = msToNumber(o.every ?? LAUNCH_SWEEP.every);
  const action: ScheduleOptionsStartWorkflowAction<typeof launchSweep> = {
    type: 'startWorkflow',
    workflowType: LAUNCH_SWEEP.workflowType,
    taskQueue: TASK_QUEUES.runs,
    workflowId: scheduleId,
    args: [o.input ?? {}],
  };
  const wanted = {
    spec: { intervals: [{ every }] },
    action,
    // A sweep missed while the server was down is not worth more than the next one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
  };
  try {
    await client.schedule.create({ scheduleId, ...wanted, state: { paused: o.paused ?? false } });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  if (fingerprint(await handle.describe()) === fingerprint(wanted)) return 'unchanged';
  await handle.update((previous) => ({ ...wanted, state: previous.state }));
  return 'updated';
}

/** What this module decides about a schedule; the rest (its state, its history) is the operator's. */
function fingerprint(s: {
  spec: { intervals?: { every: number }[] };
  action: { workflowType: unknown; taskQueue?: string; workflowId?: string; args?: unknown };
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: number };
}): string {
  return JSON.stringify([
    s.spec.intervals?.map((i) => i.every),
    s.action.workflowType,
    s.action.taskQueue,
    s.action.workflowId,
    s.action.args,
    s.policies.overlap,
    s.policies.catchupWindow,
  ]);
}
