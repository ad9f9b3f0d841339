/**
 * The dataset workflow's pipelined scoring at a continue-as-new boundary, on the time-skipping test
 * server with the activities stubbed: what the workflow asks of inference, the judge and the record
 * is seen call by call, and the history it writes is replayed against the same code.
 *
 * PROCTOR_RECORD_HISTORIES=1 writes that history as the fixture the patch registry names for this path.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { evaluateDataset } from '../../workflows/evaluateDataset';
import type { BegunDataset, DatasetOutcome } from '../../activities/runLifecycle';
import type { BatchInput, BatchResult, JudgeBatchInput, JudgeBatchResult } from '../../contracts/workflow';
import { TASK_QUEUES, WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { createTimeSkippingEnv } from '../support/timeSkipping';
import { HISTORY_FIXTURES_DIR, RECORD_HISTORIES, type RecordedHistory } from '../support/historyFixtures';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

interface Calls {
  inferred: [number, number][];
  judged: [number, number][];
  finished: { outcome: DatasetOutcome; reason?: string | null }[];
}

let env: TestWorkflowEnvironment;
const workers: { worker: Worker; running: Promise<void> }[] = [];
let calls: Calls;
/** The judge's answer for a batch; a throw fails that batch's judging. */
let judge: (range: JudgeBatchInput) => Promise<JudgeBatchResult>;
let begun: BegunDataset;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  const activities = {
    beginDataset: async (): Promise<BegunDataset> => begun,
    finishDataset: async (args: { outcome: DatasetOutcome; reason?: string | null }) => {
      calls.finished.push({ outcome: args.outcome, reason: args.reason });
      return { status: args.outcome === 'completed' ? 'succeeded' : args.outcome === 'stopped' ? 'stopped' : 'failed' };
    },
    inferBatch: async ({ from, to }: BatchInput): Promise<BatchResult> => {
      calls.inferred.push([from, to]);
      return { stored: to - from, skipped: 0, failed: 0, abortReason: null };
    },
    judgeBatch: async (range: JudgeBatchInput) => {
      calls.judged.push([range.from, range.to]);
      return judge(range);
    },
  };
  for (const taskQueue of [TASK_QUEUES.runs, TASK_QUEUES.inference, TASK_QUEUES.judge]) {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(taskQueue === TASK_QUEUES.runs ? { workflowsPath: WORKFLOWS } : {}),
      activities,
    });
    workers.push({ worker, running: worker.run() });
  }
});

afterAll(async () => {
  for (const { worker } of workers) worker.shutdown();
  await Promise.all(workers.map((w) => w.running));
  await env?.teardown();
});

let datasetNumber = 0;

async function runDataset(total: number) {
  calls = { inferred: [], judged: [], finished: [] };
  begun = { total, judged: true };
  const runId = `run-${++datasetNumber}`;
  const datasetId = 'judged';
  const handle = await env.client.workflow.start<typeof evaluateDataset>(WORKFLOW_TYPES.dataset, {
    taskQueue: TASK_QUEUES.runs,
    workflowId: workflowIds.dataset(runId, datasetId),
    args: [{ runId, datasetId, batching: { samplesPerBatch: 10, batchesPerExecution: 2 } }],
  });
  const result = await handle.result();
  // The handle stays on the first execution: its history is that execution's.
  const firstHistory = await env.client.workflow
    .getHandle(handle.workflowId, handle.firstExecutionRunId)
    .fetchHistory();
  const continuedAsNew = firstHistory.events!.some((e) => e.workflowExecutionContinuedAsNewEventAttributes);
  return { handle, result, firstHistory, continuedAsNew };
}

describe('evaluateDataset with a judge', () => {
  it('judges every batch, continuing as new between executions, when the judge answers', async () => {
    judge = async ({ from, to }) => ({ judged: to - from, failed: 0 });
    const { result, continuedAsNew } = await runDataset(30);
    expect(calls.inferred).toEqual([
      [0, 10],
      [10, 20],
      [20, 30],
    ]);
    expect(calls.judged).toEqual(calls.inferred);
    expect(calls.finished).toEqual([{ outcome: 'completed', reason: null }]);
    expect(result.status).toBe('succeeded');
    expect(continuedAsNew).toBe(true);
  });

  it('ends the dataset when the judging settled at a continue-as-new boundary failed', async () => {
    judge = async ({ from, to }) => {
      if (from === 10) throw ApplicationFailure.nonRetryable('the judge refused every request', 'JudgeDown');
      return { judged: to - from, failed: 0 };
    };
    const { handle, result, firstHistory, continuedAsNew } = await runDataset(30);

    // The second batch's judging failed while the first execution ended its batches: the dataset
    // ends there with the reason instead of continuing as new and inferring the third batch.
    expect(calls.inferred).toEqual([
      [0, 10],
      [10, 20],
    ]);
    expect(calls.finished).toHaveLength(1);
    expect(calls.finished[0]!.outcome).toBe('aborted');
    expect(calls.finished[0]!.reason).toMatch(/^judging failed: .*the judge refused every request/);
    expect(result.status).toBe('failed');
    expect(continuedAsNew).toBe(false);

    const history = firstHistory;
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS }, history, handle.workflowId);
    if (RECORD_HISTORIES) {
      const recorded: RecordedHistory = {
        workflowId: handle.workflowId,
        workflowType: WORKFLOW_TYPES.dataset,
        recordedWith: 'time-skipping test server',
        history: JSON.parse(historyToJSON(history)) as unknown,
      };
      await writeFile(
        path.join(HISTORY_FIXTURES_DIR, 'dataset-judge-failed-at-continue.json'),
        `${JSON.stringify(recorded, null, 1)}\n`,
      );
    }
  });
});
