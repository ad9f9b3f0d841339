import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { connectDb, type DbHandle } from '../../db/client';
import { runDatasets, sampleResults } from '../../db/schema';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { temporalClient } from '../support/temporalTestKit';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { requireEnv } from '../support/env';
import type { Client } from '@temporalio/client';
import { startRunByHand } from '../support/workflowStarts';

let handle: DbHandle;
let temporal: { client: Client; close(): Promise<void> };
let model: ReferenceModel;
const processes: WorkerProcess[] = [];

beforeAll(async () => {
  handle = connectDb(requireEnv('DATABASE_URL'));
  temporal = await temporalClient();
  model = await startReferenceModel({ port: 0, knobs: { skill: 1, latencyMs: 25 } });
});

afterAll(async () => {
  for (const p of processes) await p.kill();
  await model?.close();
  await temporal?.close();
  await handle?.close();
});

it('a worker killed with SIGKILL mid-dataset resumes on restart; every sample is stored exactly once', async () => {
  const ownerId = await insertUser(handle.db);
  const ds = await insertArithmeticDataset(handle.db, 1500);
  const runId = await insertRun(handle.db, {
    ownerId,
    endpoint: model.url,
    datasets: [ds],
    limits: { maxConcurrency: 8 },
    batching: { samplesPerBatch: 500, batchesPerExecution: 100 },
  });

  const first = await startWorkerProcess();
  processes.push(first);
  const wf = await startRunByHand(temporal.client, runId);

  const storedCount = async () =>
    Number(
      (
        await handle.db
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

  const rows = await handle.db
    .select({ idx: sampleResults.sampleIdx, status: sampleResults.status })
    .from(sampleResults)
    .where(eq(sampleResults.runId, runId));
  expect(rows).toHaveLength(1500);
  expect(new Set(rows.map((r) => r.idx)).size).toBe(1500);
  expect(rows.every((r) => r.status === 'scored')).toBe(true);
  const [dataset] = await handle.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
  expect(dataset!.done).toBe(1500);
  expect(dataset!.metrics!.score).toBe(1);
  // Samples stored before the kill were not asked again: at most the batch in flight was redone.
  const requests = model.stats().requests;
  expect(requests).toBeGreaterThanOrEqual(1500);
  expect(requests).toBeLessThan(1500 + 500);
}, 180_000);
