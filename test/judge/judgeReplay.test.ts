/**
 * The judged path of the dataset workflow in history: each inference batch is followed by a
 * judgeBatch on the judge queue (overlapping the next batch), behind the `judge-scoring` patch,
 * across continue-as-new. The fresh history replays against the current code; with
 * PROCTOR_RECORD_HISTORIES=1 it is also written as the fixture `dataset-judged.json`, which
 * test/workflows/replay.test.ts replays with the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import { connectDb, type DbHandle } from '../../db/client';
import { runs } from '../../db/schema';
import { TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { DEFAULT_JUDGING_LIMITS } from '../../contracts/scoringConfig';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { startWorkers, temporalClient, type RunningWorkers } from '../support/temporalTestKit';
import { startJudgeStandIn, type JudgeStandIn } from '../support/judgeStandIn';
import { requireEnv } from '../support/env';
import { RECORD_HISTORIES, recordHistoryFixture, replayHistory } from '../support/historyFixtures';
import { startRunByHand } from '../support/workflowStarts';

let handle: DbHandle;
let temporal: { client: Client; close(): Promise<void> };
let workers: RunningWorkers;
let model: ReferenceModel;
let judge: JudgeStandIn;

beforeAll(async () => {
  handle = connectDb(requireEnv('DATABASE_URL'));
  temporal = await temporalClient();
  workers = await startWorkers(handle.db, ['runs', 'inference', 'judge']);
  model = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
  judge = await startJudgeStandIn();
});
afterAll(async () => {
  await workers?.shutdown();
  await judge?.close();
  await model?.close();
  await temporal?.close();
  await handle?.close();
});

describe('judged dataset workflow', () => {
  it('judges each batch on the judge queue, across continue-as-new, and replays', async () => {
    const ownerId = await insertUser(handle.db);
    const dataset = await insertArithmeticDataset(handle.db, 14);
    const runId = await insertRun(handle.db, {
      ownerId,
      endpoint: model.url,
      datasets: [dataset],
      batching: { samplesPerBatch: 4, batchesPerExecution: 2 },
    });
    const [run] = await handle.db.select().from(runs).where(eq(runs.id, runId));
    await handle.db
      .update(runs)
      .set({
        config: {
          ...run!.config,
          scoring: {
            limits: DEFAULT_JUDGING_LIMITS,
            datasets: { [dataset.id]: { metric: 'judge', judge: { baseUrl: judge.url, model: 'j', apiKeyId: null } } },
          },
        },
      })
      .where(eq(runs.id, runId));

    const wf = await startRunByHand(temporal.client, runId);
    expect((await wf.result()).status).toBe('succeeded');
    expect(judge.requests).toHaveLength(14);

    const datasetWorkflow = workflowIds.dataset(runId, dataset.id);
    const description = await temporal.client.workflow.getHandle(datasetWorkflow).describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
    const history = await temporal.client.workflow.getHandle(datasetWorkflow, firstRunId).fetchHistory();
    const events = history.events ?? [];
    expect(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
    const judgeBatches = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'judgeBatch',
    );
    expect(judgeBatches).toHaveLength(2);
    expect(
      judgeBatches.every((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name === TASK_QUEUES.judge),
    ).toBe(true);
    expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();

    await expect(replayHistory(history, datasetWorkflow)).resolves.toBeUndefined();
    if (RECORD_HISTORIES)
      await recordHistoryFixture(temporal.client, 'dataset-judged', datasetWorkflow, WORKFLOW_TYPES.dataset);
  });
});
