/**
 * The launch sweep: a run whose launch committed but whose workflow was never started (the API
 * process died in between) is started by a later sweep, once, and ends like any run; a run still
 * young is left to its launch, and one past a day to an operator; a long queue is walked a page per
 * sweep, the Schedule handing each sweep's cursor to the next, without hiding anything. The
 * deployment's schedule is made sure of idempotently, keeping an operator's pause.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScheduleOverlapPolicy, WorkflowNotFoundError, type ScheduleHandle } from '@temporalio/client';
import { LAUNCH_SWEEP, TASK_QUEUES, workflowIds } from '../../temporal.config';
import type { launchSweep } from '../../workflows/launchSweep';
import type { LaunchSweepInput, LaunchSweepResult } from '../../activities/launchSweep';
import { ensureLaunchSweepSchedule } from '../../workers/launchSweepSchedule';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { waitForRunEnd } from '../support/runThroughApi';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: true,
  model: { skill: 1, errorRate: 0, seed: 7, latencyMs: 0 },
});

/** One sweep, run as a workflow of its own on the runs queue (the schedule's path is the last test's). */
function sweep(input: LaunchSweepInput): Promise<LaunchSweepResult> {
  return stack.temporal.workflow.execute<typeof launchSweep>(LAUNCH_SWEEP.workflowType, {
    workflowId: `launch-sweep-test-${randomUUID()}`,
    taskQueue: TASK_QUEUES.runs,
    args: [input],
  });
}

/**
 * A sweep that sees only runs launched since `since` (and before now): earlier test files leave
 * queued runs in the shared database, which are not this test's to start.
 */
function windowSince(since: number): LaunchSweepInput {
  const at = Date.now();
  return { minAgeMs: 0, maxAgeMs: at - since, at: new Date(at).toISOString() };
}

/**
 * Launches a verification as an API process killed right after the launch's commit would: the run is
 * recorded and queued, its quota and version taken, and no workflow is started. With `unpolledQueue`,
 * the workflow is started on a task queue no worker polls instead: the run stays queued with its
 * workflow in place, as behind a backlog of runs waiting for workers.
 */
async function launchWithoutWorkflow(key: string, evaluationId: string, unpolledQueue?: string): Promise<string> {
  const workflows = stack.temporal.workflow;
  const start = workflows.start.bind(workflows);
  workflows.start = (async (type: Parameters<typeof start>[0], options: Parameters<typeof start>[1]) =>
    unpolledQueue
      ? start(type, { ...options, taskQueue: unpolledQueue })
      : undefined) as unknown as typeof workflows.start;
  try {
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: { samplesPerDataset: 1 },
    });
    expect(launched.status, launched.text).toBe(202);
    return launched.body.runId as string;
  } finally {
    delete (workflows as Partial<typeof workflows>).start;
  }
}

async function workflowExists(runId: string): Promise<boolean> {
  try {
    await stack.temporal.workflow.getHandle(workflowIds.run(runId)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function userWithEvaluation(): Promise<{ key: string; evaluationId: string }> {
  const user = await stack.api.createUser();
  const body = nlpEvaluationBody({
    deployment: {
      method: 'api',
      endpoint: stack.model.url,
      onlineModelName: 'proctor-reference',
      apiKey: `sk-${randomUUID()}`,
      apiMode: 'chat',
    },
  });
  const created = await stack.api.request('POST', '/v1/evaluations', { key: user.apiKey, body });
  expect(created.status, created.text).toBe(201);
  return { key: user.apiKey, evaluationId: created.body.id };
}

describe('launch sweep', () => {
  it('starts the workflow of a run an interrupted launch left queued, once, and the run ends', async () => {
    const since = Date.now();
    const { key, evaluationId } = await userWithEvaluation();
    const runId = await launchWithoutWorkflow(key, evaluationId);
    expect(await workflowExists(runId)).toBe(false);

    // Younger than the sweep waits for: its launch may still be starting it.
    expect((await sweep({ minAgeMs: 3_600_000 })).started).not.toContain(runId);
    expect(await workflowExists(runId)).toBe(false);

    // Older than a day (seen from two days on): past the server's shortest retention, left to an operator.
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    expect((await sweep({ minAgeMs: 0, at: later })).started).not.toContain(runId);
    expect(await workflowExists(runId)).toBe(false);

    const window = windowSince(since);
    expect((await sweep(window)).started).toContain(runId);
    expect(await workflowExists(runId)).toBe(true);
    // Started already: the next sweep finds it running (or queued behind workers) and starts nothing.
    expect((await sweep(window)).started).not.toContain(runId);

    const ended = await waitForRunEnd(stack.api, key, runId, 100_000);
    expect(ended.status).toBe('succeeded');
    expect(ended.progress.done).toBe(ended.progress.total);
  });

  it('walks a long queue a page per scheduled sweep, so runs waiting for workers do not hide an orphan', async () => {
    const since = Date.now();
    const { key, evaluationId } = await userWithEvaluation();
    const unpolled = `unpolled-${randomUUID()}`;
    const waiting = [];
    for (let i = 0; i < 4; i++) waiting.push(await launchWithoutWorkflow(key, evaluationId, unpolled));
    const orphans = [];
    for (let i = 0; i < 2; i++) orphans.push(await launchWithoutWorkflow(key, evaluationId));
    // A schedule of this test's own, paused so it sweeps only when triggered, with the deployment's
    // workflow and policies: two runs a sweep, oldest first. Without the cursor handed from one
    // sweep to the next, every sweep would look at the first two waiting runs only.
    const scheduleId = `launch-sweep-test-${randomUUID()}`;
    const options = { scheduleId, every: '1 hour', paused: true, input: { ...windowSince(since), pageSize: 2 } };
    expect(await ensureLaunchSweepSchedule(stack.temporal, options)).toBe('created');
    const schedule = stack.temporal.schedule.getHandle(scheduleId);
    try {
      const started = new Set<string>();
      let last: { workflowId: string } | undefined;
      for (let n = 0; n < 10 && !orphans.every((id) => started.has(id)); n++) {
        const result = await triggerAndWait(schedule);
        expect(result.started.length).toBeLessThanOrEqual(2);
        for (const id of result.started) started.add(id);
        last = result;
      }
      expect(orphans.filter((id) => !started.has(id))).toEqual([]);
      expect(waiting.filter((id) => started.has(id))).toEqual([]);
      for (const id of orphans) expect(await workflowExists(id)).toBe(true);
      // The sweep that found the orphans went on from its predecessors' cursor.
      if (RECORD_HISTORIES && last)
        await recordHistoryFixture(
          stack.temporal,
          'launch-sweep-continued',
          last.workflowId,
          LAUNCH_SWEEP.workflowType,
        );

      // Made sure of again at the next worker start: unchanged, and an operator's pause survives a change.
      expect(await ensureLaunchSweepSchedule(stack.temporal, options)).toBe('unchanged');
      expect(await ensureLaunchSweepSchedule(stack.temporal, { ...options, every: '2 hours', paused: false })).toBe(
        'updated',
      );
      const described = await schedule.describe();
      expect(described.spec.intervals?.map((i) => i.every)).toEqual([7_200_000]);
      expect(described.state.paused).toBe(true);
    } finally {
      await schedule.delete();
      for (const id of waiting)
        await stack.temporal.workflow
          .getHandle(workflowIds.run(id))
          .terminate('test: run left waiting on an unpolled queue');
    }
  });
});

/**
 * Triggers one sweep, as the schedule's interval would, and waits for its result. The trigger keeps
 * the schedule's overlap policy (SKIP): a trigger's default, ALLOW_ALL, starts a sweep outside the
 * chain of last completion results, which is how an operator's extra sweep from the UI starts over
 * from the oldest run without disturbing the scheduled ones.
 */
async function triggerAndWait(schedule: ScheduleHandle): Promise<LaunchSweepResult & { workflowId: string }> {
  const taken = (await schedule.describe()).info.numActionsTaken;
  // A scheduled workflow's ID ends in the second it was taken, and a second start in that second
  // would be refused as a duplicate: minutes apart in a deployment, here the next second is waited for.
  await new Promise((r) => setTimeout(r, 1_050 - (Date.now() % 1_000)));
  await schedule.trigger(ScheduleOverlapPolicy.SKIP);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const { info } = await schedule.describe();
    if (info.numActionsTaken <= taken) continue;
    const { workflowId, firstExecutionRunId } = info.recentActions.at(-1)!.action.workflow;
    const handle = stack.temporal.workflow.getHandle(workflowId, firstExecutionRunId);
    return { ...((await handle.result()) as LaunchSweepResult), workflowId };
  }
  throw new Error(`the schedule ${schedule.scheduleId} took no triggered sweep within 30 s`);
}
