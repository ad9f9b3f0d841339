import { afterAll, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { runDatasets, sampleResults } from '../../db/schema';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: true, temporal: true, model: { skill: 1, latencyMs: 25 } });
const processes: WorkerProcess[] = [];

// Registered after the stack, so it runs before the stack stops: no worker process outlives the model.
afterAll(async () => {
  for (const p of processes) await p.kill();
});

it('a worker killed with SIGKILL mid-dataset resumes on restart; every sample is stored exactly once', async () => {
  const ownerId = await insertUser(stack.db);
  const ds = await insertArithmeticDataset(stack.db, 1500);
  const runId = await insertRun(stack.db, {
    ownerId,
    endpoint: stack.model.url,
    datasets: [ds],
    limits: { maxConcurrency: 8 },
    batching: { samplesPerBatch: 500, batchesPerExecution: 100 },
  });

  const first = await startWorkerProcess();
  processes.push(first);
  const wf = await startRunByHand(stack.temporal, runId);

  const storedCount = async () =>
    Number(
      (
        await stack.db
          .select({ n: sql<string>`count(*)` })
          .from(sampleResults)
          .where(eq(sampleResults.runId, runId))
      )[0]!.n,
    );
  const deadline = Date.now() + 60_000;
  while ((await storedCount()) < 700) {
    if (Date.now() > deadline) throw new Error(`run made no progress:\n${first.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await first.kill('SIGKILL');
  const atKill = await storedCount();
  expect(atKill).toBeLessThan(1500);

  const second = await startWorkerProcess();
  processes.push(second);
  const result = await wf.result();
  expect(result.status).toBe('succeeded');

  const rows = await stack.db
    .select({ idx: sampleResults.sampleIdx, status: sampleResults.status })
    .from(sampleResults)
    .where(eq(sampleResults.runId, runId));
  expect(rows).toHaveLength(1500);
  expect(new Set(rows.map((r) => r.idx)).size).toBe(1500);
  expect(rows.every((r) => r.status === 'scored')).toBe(true);
  const [dataset] = await stack.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
  expect(dataset!.done).toBe(1500);
  expect(dataset!.metrics!.score).toBe(1);
  // Samples stored before the kill were not asked again: at most the batch in flight was redone.
  const requests = stack.model.stats().requests;
  expect(requests).toBeGreaterThanOrEqual(1500);
  expect(requests).toBeLessThan(1500 + 500);
}, 180_000);
