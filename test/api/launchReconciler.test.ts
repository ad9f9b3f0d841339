/**
 * The launch reconciler: a run whose launch committed but whose workflow was never started (the API
 * process died in between) is started by a later sweep, once, and ends like any run; a run still
 * young is left to its launch; a long queue is walked a page per sweep without hiding anything.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { workflowIds } from '../../temporal.config';
import { startLaunchReconciler, type LaunchReconciler } from '../../api/launchReconciler';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { startApi, type TestApi } from '../support/apiServer';
import { startWorkers, type RunningWorkers } from '../support/temporalTestKit';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { waitForRunEnd } from '../support/runThroughApi';

let api: TestApi;
let workers: RunningWorkers;
let model: ReferenceModel;
const reconcilers: LaunchReconciler[] = [];

beforeAll(async () => {
  api = await startApi();
  workers = await startWorkers(api.deps.db);
  model = await startReferenceModel({ port: 0, knobs: { skill: 1, errorRate: 0, seed: 7, latencyMs: 0 } });
});

afterAll(async () => {
  for (const r of reconcilers) r.stop();
  await workers?.shutdown();
  await model?.close();
  await api?.close();
});

function reconciler(o: { minAgeMs: number; maxAgeMs?: number; batch?: number; now?: () => Date }): LaunchReconciler {
  // An hour between timed sweeps: the test sweeps by hand (the first, immediate one is awaited by its first sweep()).
  const r = startLaunchReconciler({
    db: api.deps.db,
    temporal: api.deps.temporal,
    logger: pino({ level: 'silent' }),
    intervalMs: 3_600_000,
    ...o,
  });
  reconcilers.push(r);
  return r;
}

/**
 * A reconciler that sees only runs launched since `since` (and before now): earlier test files
 * leave queued runs in the shared database, which are not this test's to start.
 */
function reconcilerSince(since: number, o: { batch?: number } = {}): LaunchReconciler {
  const at = Date.now();
  return reconciler({ minAgeMs: 0, maxAgeMs: at - since, now: () => new Date(at), ...o });
}

/**
 * Launches a verification as an API process killed right after the launch's commit would: the run is
 * recorded and queued, its quota and version taken, and no workflow is started. With `unpolledQueue`,
 * the workflow is started on a task queue no worker polls instead: the run stays queued with its
 * workflow in place, as behind a backlog of runs waiting for workers.
 */
async function launchWithoutWorkflow(key: string, evaluationId: string, unpolledQueue?: string): Promise<string> {
  const workflows = api.deps.temporal.workflow;
  const start = workflows.start.bind(workflows);
  workflows.start = (async (type: Parameters<typeof start>[0], options: Parameters<typeof start>[1]) =>
    unpolledQueue
      ? start(type, { ...options, taskQueue: unpolledQueue })
      : undefined) as unknown as typeof workflows.start;
  try {
    const launched = await api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
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
    await api.deps.temporal.workflow.getHandle(workflowIds.run(runId)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function userWithEvaluation(): Promise<{ key: string; evaluationId: string }> {
  const user = await api.createUser();
  const body = nlpEvaluationBody({
    deployment: {
      method: 'api',
      endpoint: model.url,
      onlineModelName: 'proctor-reference',
      apiKey: `sk-${randomUUID()}`,
      apiMode: 'chat',
    },
  });
  const created = await api.request('POST', '/v1/evaluations', { key: user.apiKey, body });
  expect(created.status, created.text).toBe(201);
  return { key: user.apiKey, evaluationId: created.body.id };
}

describe('launch reconciler', () => {
  it('starts the workflow of a run an interrupted launch left queued, once, and the run ends', async () => {
    const since = Date.now();
    const { key, evaluationId } = await userWithEvaluation();
    const runId = await launchWithoutWorkflow(key, evaluationId);
    expect(await workflowExists(runId)).toBe(false);

    // Younger than the reconciler waits for: its launch may still be starting it.
    expect(await reconciler({ minAgeMs: 3_600_000 }).sweep()).not.toContain(runId);
    expect(await workflowExists(runId)).toBe(false);

    // Older than a day (seen from two days on): past the server's shortest retention, left to an operator.
    expect(await reconciler({ minAgeMs: 0, now: () => new Date(Date.now() + 2 * 86_400_000) }).sweep()).not.toContain(
      runId,
    );
    expect(await workflowExists(runId)).toBe(false);

    const sweeper = reconcilerSince(since);
    expect(await sweeper.sweep()).toContain(runId);
    expect(await workflowExists(runId)).toBe(true);
    // Started already: the next sweep finds it running (or queued behind workers) and starts nothing.
    expect(await sweeper.sweep()).not.toContain(runId);

    const ended = await waitForRunEnd(api, key, runId, 100_000);
    expect(ended.status).toBe('succeeded');
    expect(ended.progress.done).toBe(ended.progress.total);
  });

  it('walks a long queue a page per sweep, so runs waiting for workers do not hide an orphan behind them', async () => {
    const since = Date.now();
    const { key, evaluationId } = await userWithEvaluation();
    const unpolled = `unpolled-${randomUUID()}`;
    const waiting = [];
    for (let i = 0; i < 4; i++) waiting.push(await launchWithoutWorkflow(key, evaluationId, unpolled));
    const orphans = [];
    for (let i = 0; i < 2; i++) orphans.push(await launchWithoutWorkflow(key, evaluationId));
    try {
      // Two runs a sweep, oldest first: without walking on, every sweep would look at two of the waiting runs only.
      const sweeper = reconcilerSince(since, { batch: 2 });
      const started = new Set<string>();
      for (let sweep = 0; sweep < 50 && !orphans.every((id) => started.has(id)); sweep++) {
        const now = await sweeper.sweep();
        expect(now.length).toBeLessThanOrEqual(2);
        for (const id of now) started.add(id);
      }
      expect(orphans.filter((id) => !started.has(id))).toEqual([]);
      expect(waiting.filter((id) => started.has(id))).toEqual([]);
      for (const id of orphans) expect(await workflowExists(id)).toBe(true);
    } finally {
      for (const id of waiting)
        await api.deps.temporal.workflow
          .getHandle(workflowIds.run(id))
          .terminate('test: run left waiting on an unpolled queue');
    }
  });
});
