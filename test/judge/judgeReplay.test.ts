/**
 * The judged path of the dataset workflow in history: each inference batch is followed by a
 * judgeBatch on the judge queue (overlapping the next batch), behind the `judge-scoring` patch,
 * across continue-as-new. The fresh history replays against the current code; with
 * PROCTOR_RECORD_HISTORIES=1 it is also written as the fixture `dataset-judged.json`, which
 * test/workflows/replay.test.ts replays with the others.
 */
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { runs } from '../../db/schema';
import { TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { DEFAULT_JUDGING_LIMITS } from '../../contracts/scoringConfig';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { RECORD_HISTORIES, recordHistoryFixture, replayHistory } from '../support/historyFixtures';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  db: true,
  temporal: true,
  workers: ['runs', 'inference', 'judge'],
  model: { skill: 1 },
  judge: true,
});

describe('judged dataset workflow', () => {
  it('judges each batch on the judge queue, across continue-as-new, and replays', async () => {
    const ownerId = await insertUser(stack.db);
    const dataset = await insertArithmeticDataset(stack.db, 14);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [dataset],
      batching: { samplesPerBatch: 4, batchesPerExecution: 2 },
    });
    const [run] = await stack.db.select().from(runs).where(eq(runs.id, runId));
    await stack.db
      .update(runs)
      .set({
        config: {
          ...run!.config,
          scoring: {
            limits: DEFAULT_JUDGING_LIMITS,
            datasets: {
              [dataset.id]: { metric: 'judge', judge: { baseUrl: stack.judge.url, model: 'j', apiKeyId: null } },
            },
          },
        },
      })
      .where(eq(runs.id, runId));

    const wf = await startRunByHand(stack.temporal, runId);
    expect((await wf.result()).status).toBe('succeeded');
    expect(stack.judge.requests).toHaveLength(14);

    const datasetWorkflow = workflowIds.dataset(runId, dataset.id);
    const description = await stack.temporal.workflow.getHandle(datasetWorkflow).describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
    const history = await stack.temporal.workflow.getHandle(datasetWorkflow, firstRunId).fetchHistory();
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
      await recordHistoryFixture(stack.temporal, 'dataset-judged', datasetWorkflow, WORKFLOW_TYPES.dataset);
  });
});
