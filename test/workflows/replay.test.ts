/**
 * Replay: the workflow code must reproduce, command for command, the histories that runs of earlier
 * versions wrote, or runs in flight during a deploy would break. Each history listed in
 * test/fixtures/histories/index.ts is replayed against today's workflow bundle in a test of its own,
 * so a failure names its fixture; its patch markers are checked against workflows/patches.ts.
 *
 * A fixture is recorded again by the test its entry names, run with PROCTOR_RECORD_HISTORIES=1; the
 * four scenarios below (a completed two-dataset run, its first dataset continuing as new, a stopped
 * run and its dataset) by this file:
 *   PROCTOR_RECORD_HISTORIES=1 npm test -- test/workflows/replay.test.ts
 * After an intentional, patched change, keep the old files too (renamed, and listed with
 * `recordedBy: null`) while runs of that version may still be in flight.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { stopSignal } from '../../contracts/workflow';
import { PATCHES } from '../../workflows/patches';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import {
  loadHistoryFixture,
  loadHistoryFixtures,
  recordHistoryFixture,
  RECORD_HISTORIES,
  replayHistory,
  type RecordedHistory,
} from '../support/historyFixtures';
import { startRunByHand } from '../support/workflowStarts';
import { HISTORY_FIXTURES, patchesPinnedBy } from '../fixtures/histories';
import { useTestStack } from '../support/testStack';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The IDs of the patch markers a recorded history carries. */
function patchMarkers(recorded: RecordedHistory): string[] {
  type Event = {
    markerRecordedEventAttributes?: {
      markerName?: string;
      details?: Record<string, { payloads?: { data?: string }[] }>;
    };
  };
  return ((recorded.history as { events: Event[] }).events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });
}

describe('recorded histories', () => {
  it('are each listed once in the index, as are the fixtures the patch registry names', async () => {
    const files = (await loadHistoryFixtures()).map((f) => f.file.replace(/\.json$/, '')).sort();
    const listed = HISTORY_FIXTURES.map((f) => f.name).sort();
    expect(files).toEqual(listed);
    expect(new Set(listed).size).toBe(listed.length);
    for (const { name, recordedBy } of HISTORY_FIXTURES)
      if (recordedBy) expect(existsSync(path.join(ROOT, recordedBy)), `${name}: ${recordedBy}`).toBe(true);
    for (const [patch, { pinnedBy }] of Object.entries(PATCHES)) {
      expect(listed, patch).toEqual(expect.arrayContaining([...pinnedBy.before, ...pinnedBy.after]));
      expect(pinnedBy.after.length, `${patch}: a history that took the patched path`).toBeGreaterThan(0);
    }
  });

  for (const fixture of HISTORY_FIXTURES) {
    it(`replays ${fixture.name}`, async () => {
      const recorded = await loadHistoryFixture(fixture.name);
      expect(recorded.workflowType).toBe(fixture.workflowType);
      const markers = patchMarkers(recorded);
      for (const { patch, side } of patchesPinnedBy(fixture.name)) {
        expect(markers.includes(PATCHES[patch].id), `${patch} (${side})`).toBe(side === 'after');
      }
      await expect(replayHistory(recorded, recorded.workflowId)).resolves.toBeUndefined();
    });
  }

  it('detects a history the current code cannot reproduce', async () => {
    // Guards the tests themselves: a history of the run workflow fed to the dataset workflow must fail
    // (this one's first command, an ordinary activity, is beginRun where the dataset asks beginDataset).
    const recorded = structuredClone(await loadHistoryFixture('run-completed-before-local-bookkeeping'));
    const json = recorded.history as {
      events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name: string } } }[];
    };
    json.events[0]!.workflowExecutionStartedEventAttributes!.workflowType!.name = WORKFLOW_TYPES.dataset;
    await expect(replayHistory(recorded, recorded.workflowId)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

describe('histories written just now', () => {
  const stack = useTestStack({ db: true, temporal: true, workers: true, model: { skill: 1 } });

  /** Runs that exercise every branch a history can take: children in sequence, continue-as-new, stop. */
  async function executeScenarios(): Promise<{ name: string; workflowId: string; workflowType: string }[]> {
    const ownerId = await insertUser(stack.db);
    const first = await insertArithmeticDataset(stack.db, 30, 'arithmetic');
    const second = await insertArithmeticDataset(stack.db, 12, 'sums');

    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1 });
    const completed = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [first, second],
      batching: { samplesPerBatch: 10, batchesPerExecution: 2 },
    });
    await (await startRunByHand(stack.temporal, completed)).result();

    stack.model.setKnobs({ latencyMs: 200 });
    const stopped = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [first, second],
      limits: { maxConcurrency: 2 },
    });
    const wf = await startRunByHand(stack.temporal, stopped);
    await new Promise((r) => setTimeout(r, 1500));
    await wf.signal(stopSignal, { requestedBy: 'replay-test' });
    await wf.result();
    stack.model.resetKnobs();

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
    const description = await stack.temporal.workflow.getHandle(workflowId).describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? description.runId;
    return stack.temporal.workflow.getHandle(workflowId, firstRunId).fetchHistory();
  }

  // Defined only when recording: a skipped test would count as a failure in `npm test`.
  if (RECORD_HISTORIES)
    it('records fresh histories into the fixtures', async () => {
      for (const scenario of await executeScenarios()) {
        await recordHistoryFixture(stack.temporal, scenario.name, scenario.workflowId, scenario.workflowType);
      }
    });

  it('replay against the current code, including a continued-as-new dataset', async () => {
    for (const scenario of await executeScenarios()) {
      const history = await firstExecutionHistory(scenario.workflowId);
      if (scenario.name === 'dataset-continued-as-new') {
        expect(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      }
      await expect(replayHistory(history, scenario.workflowId), scenario.name).resolves.toBeUndefined();
    }
  });
});
