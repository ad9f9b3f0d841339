/**
 * The Temporal server goes away in the middle of a dataset and comes back on the same SQLite file:
 * the run carries on and ends with every sample stored exactly once.
 */
import { expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { runDatasets, runs, sampleResults } from '../../db/schema';
import { workflowIds } from '../../temporal.config';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { startTemporal, stopTemporal } from '../support/services';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: true, temporal: true, workers: true, model: { skill: 1, latencyMs: 20 } });

it('a run survives a restart of the Temporal server with every sample stored exactly once', async () => {
  const ownerId = await insertUser(stack.db);
  const first = await insertArithmeticDataset(stack.db, 600);
  const second = await insertArithmeticDataset(stack.db, 100, 'sums');
  const runId = await insertRun(stack.db, {
    ownerId,
    endpoint: stack.model.url,
    datasets: [first, second],
    limits: { maxConcurrency: 4 },
    batching: { samplesPerBatch: 100, batchesPerExecution: 3 },
  });
  await startRunByHand(stack.temporal, runId);

  const stored = async () =>
    Number(
      (
        await stack.db
          .select({ n: sql<string>`count(*)` })
          .from(sampleResults)
          .where(eq(sampleResults.runId, runId))
      )[0]!.n,
    );
  await waitFor(async () => (await stored()) >= 150, 60_000);
  await stopTemporal();
  const whileDown = await stored();
  // Work in flight may finish while the server is down; nothing new can be scheduled.
  await new Promise((r) => setTimeout(r, 2000));
  await startTemporal();

  // Poll the database rather than holding a long-poll open across the restart.
  await waitFor(async () => {
    const [row] = await stack.db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
    return row!.status === 'succeeded' || row!.status === 'failed' || row!.status === 'stopped';
  }, 150_000);

  const [run] = await stack.db.select().from(runs).where(eq(runs.id, runId));
  expect(run!.status).toBe('succeeded');
  expect(whileDown).toBeLessThan(700);
  const rows = await stack.db
    .select({ dataset: sampleResults.datasetId, idx: sampleResults.sampleIdx, status: sampleResults.status })
    .from(sampleResults)
    .where(eq(sampleResults.runId, runId));
  expect(rows).toHaveLength(700);
  expect(new Set(rows.map((r) => `${r.dataset}:${r.idx}`)).size).toBe(700);
  expect(rows.every((r) => r.status === 'scored')).toBe(true);
  const datasets = await stack.db
    .select()
    .from(runDatasets)
    .where(eq(runDatasets.runId, runId))
    .orderBy(runDatasets.position);
  expect(datasets.map((d) => [d.status, d.done])).toEqual([
    ['succeeded', 600],
    ['succeeded', 100],
  ]);
  const result = await stack.temporal.workflow.getHandle(workflowIds.run(runId)).result();
  expect(result.status).toBe('succeeded');
}, 240_000);

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
