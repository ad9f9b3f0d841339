/**
 * Replay: the workflow code must reproduce, command for command, the histories that runs of earlier
 * versions wrote, or runs in flight during a deploy would break. The histories under
 * test/fixtures/histories/ were recorded from real runs (a completed two-dataset run, a dataset that
 * continued as new, a stopped run); each is replayed against today's workflow bundle.
 *
 * To record them again after an intentional, patched change, run
 *   PROCTOR_RECORD_HISTORIES=1 npm test -- test/workflows/replay.test.ts
 * which executes those runs against the real server and rewrites the fixtures. Keep the old files
 * too (rename them) while runs of that version may still be in flight: the *-before-local-bookkeeping
 * files are the same four scenarios with the lifecycle steps as ordinary activities, before patch
 * 'local-bookkeeping' made them local; run-completed-before-stoppable-child.json and
 * run-stopped-before-stoppable-child.json are the run workflow's before patch 'stoppable-dataset-child'
 * (workflows/stoppableChild.ts) changed how a dataset's child is started and cancelled. The private-deployment
 * histories (private-run-*.json) are recorded the same way by test/serving/privateRun.test.ts, and the
 * leaderboard ones (run-completed-published.json: a run that opened its submission window under
 * patch 'leaderboard-window'; leaderboard-window-submitted.json and leaderboard-window-closed.json:
 * its publication workflow, with an accepted update or a window that passed) by test/leaderboard/,
 * and the manual-review one (run-manual-review.json: a run that waited for its manual evaluation
 * under patch 'manual-review-gate', was launched, reminded, completed by update and closed with the
 * reviewers' scores) by test/review/manualReview.test.ts; dataset-judged.json (a judged dataset under
 * patch 'judge-scoring') by test/judge/judgeReplay.test.ts, and scoring-debug.json (the scoring debug
 * call's workflow) by test/judge/scoringConfigApi.test.ts, both with PROCTOR_RECORD_HISTORIES=1;
 * dataset-code-scored.json (a pass_at_k dataset under patch 'code-scoring') by test/code/codeRun.test.ts,
 * dataset-robustness.json (a dataset's clean and perturbed passes under patch 'robustness-pass') by
 * test/robustness/robustnessRun.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { Client } from '@temporalio/client';
import { connectDb, type DbHandle } from '../../db/client';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { stopSignal } from '../../contracts/workflow';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { startWorkers, temporalClient, workflowBundle, type RunningWorkers } from '../support/temporalTestKit';
import { requireEnv } from '../support/env';
import { loadHistoryFixtures, recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { startRunByHand } from '../support/workflowStarts';

describe('workflow replay', () => {
  let handle: DbHandle;
  let temporal: { client: Client; close(): Promise<void> };
  let workers: RunningWorkers;
  let model: ReferenceModel;

  beforeAll(async () => {
    handle = connectDb(requireEnv('DATABASE_URL'));
    temporal = await temporalClient();
    workers = await startWorkers(handle.db);
    model = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
  });

  afterAll(async () => {
    await workers?.shutdown();
    await model?.close();
    await temporal?.close();
    await handle?.close();
  });

  /** Runs that exercise every branch a history can take: children in sequence, continue-as-new, stop. */
  async function executeScenarios(): Promise<{ name: string; workflowId: string; workflowType: string }[]> {
    const ownerId = await insertUser(handle.db);
    const first = await insertArithmeticDataset(handle.db, 30, 'arithmetic');
    const second = await insertArithmeticDataset(handle.db, 12, 'sums');
    const start = (runId: string) => startRunByHand(temporal.client, runId);

    model.resetKnobs();
    model.setKnobs({ skill: 1 });
    const completed = await insertRun(handle.db, {
      ownerId,
      endpoint: model.url,
      datasets: [first, second],
      batching: { samplesPerBatch: 10, batchesPerExecution: 2 },
    });
    await (await start(completed)).result();

    model.setKnobs({ latencyMs: 200 });
    const stopped = await insertRun(handle.db, {
      ownerId,
      endpoint: model.url,
      datasets: [first, second],
      limits: { maxConcurrency: 2 },
    });
    const wf = await start(stopped);
    await new Promise((r) => setTimeout(r, 1500));
    await wf.signal(stopSignal, { requestedBy: 'replay-test' });
    await wf.result();
    model.resetKnobs();

    return [
      { name: 'run-completed', workflowId: workflowIds.run(completed), workflowType: WORKFLOW_TYPES.run },
      // The first execution of this child ended in continue-as-new after two batches.
      {
        name: 'dataset-continued-as-new',
        workflowId: workflowIds.dataset(completed, first.id),
        workflowType: WORKFLOW_TYPES.dataset,
      },
      { name: 'run-stopped', workflowId: workflowIds.run(stopped), workflowType: WORKFLOW_TYPES.run },
      {
        name: 'dataset-stopped',
        workflowId: workflowIds.dataset(stopped, first.id),
        workflowType: WORKFLOW_TYPES.dataset,
      },
    ];
  }

  async function firstExecutionHistory(workflowId: string) {
    const description = await temporal.client.workflow.getHandle(workflowId).describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
    return temporal.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
  }

  // Defined only when recording: a skipped test would count as a failure in `npm test`.
  if (RECORD_HISTORIES)
    it('records fresh histories into the fixtures', async () => {
      for (const scenario of await executeScenarios()) {
        await recordHistoryFixture(temporal.client, scenario.name, scenario.workflowId, scenario.workflowType);
      }
    });

  it('replays every recorded history against the current workflow code', async () => {
    const fixtures = await loadHistoryFixtures();
    // The scenarios above produce four; fewer means the fixtures went missing.
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
    // The judged dataset path (patch judge-scoring), recorded by test/judge/judgeReplay.test.ts.
    expect(fixtures.map((f) => f.file)).toContain('dataset-judged.json');
    // The code-scored dataset path (patch code-scoring), recorded by test/code/codeRun.test.ts.
    expect(fixtures.map((f) => f.file)).toContain('dataset-code-scored.json');
    // The robustness pass (patch robustness-pass), recorded by test/robustness/robustnessRun.test.ts.
    expect(fixtures.map((f) => f.file)).toContain('dataset-robustness.json');
    expect(fixtures.map((f) => f.file)).toEqual(
      expect.arrayContaining([
        'run-completed.json',
        'run-completed-published.json',
        'leaderboard-window-submitted.json',
        'leaderboard-window-closed.json',
      ]),
    );
    const bundle = await workflowBundle();
    for (const { file, recorded } of fixtures) {
      const history = historyFromJSON(recorded.history);
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle }, history, recorded.workflowId),
        file,
      ).resolves.toBeUndefined();
    }
  });

  it('replays histories written just now by the current code, including a continued-as-new dataset', async () => {
    const bundle = await workflowBundle();
    for (const scenario of await executeScenarios()) {
      const history = await firstExecutionHistory(scenario.workflowId);
      if (scenario.name === 'dataset-continued-as-new') {
        expect(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      }
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle }, history, scenario.workflowId),
        scenario.name,
      ).resolves.toBeUndefined();
    }
  });

  it('detects a history the current code cannot reproduce', async () => {
    // Guards the test itself: a history of the run workflow fed to the dataset workflow must fail.
    const [fixture] = (await loadHistoryFixtures()).filter((f) => f.recorded.workflowType === WORKFLOW_TYPES.run);
    expect(fixture).toBeDefined();
    const json = structuredClone(fixture!.recorded.history) as {
      events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name: string } } }[];
    };
    json.events[0]!.workflowExecutionStartedEventAttributes!.workflowType!.name = WORKFLOW_TYPES.dataset;
    const bundle = await workflowBundle();
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle }, historyFromJSON(json), fixture!.recorded.workflowId),
    ).rejects.toThrow();
  });
});
