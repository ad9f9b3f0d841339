/**
 * PostgreSQL goes down while batches are storing results and comes back on the same port and data
 * directory. The server is one this test starts for itself (the same embedded PostgreSQL as the
 * global set-up), so the shared one is never pulled from under another test. The worker's
 * activities must retry until it is back, and the run end succeeded with every sample stored once.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { and, eq, like } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import { connectDb, type DbHandle } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { runDatasets, runLogs } from '../../db/schema';
import { startPostgres, stopPostgresServer } from '../../stack/postgres';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { temporalClient } from '../support/temporalTestKit';
import type { WorkerProcess } from '../support/workerProcess';
import { freePort } from '../support/ports';
import { requireEnv } from '../support/env';
import { expectAccountedFor, waitForRunEnd } from './accounting';
import { startFaultWorker } from './faultWorker';
import { startRunByHand } from '../support/workflowStarts';

const DATA_DIR = path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `faults-pg-${process.pid}`);
let port: number;
let url: string;
let handle: DbHandle;
let temporal: { client: Client; close(): Promise<void> };
let model: ReferenceModel;
let worker: WorkerProcess | undefined;

// An empty env: DATABASE_URL (set for the tests) must not turn these into "use that server".
const start = () => startPostgres({ dataDir: DATA_DIR, port, env: {}, log: () => {} });

beforeAll(async () => {
  port = await freePort();
  url = (await start()).url;
  await migrateDatabase(url);
  handle = connectDb(url, { max: 4 });
  temporal = await temporalClient();
  model = await startReferenceModel({ port: 0, knobs: { skill: 1, latencyMs: 15, jitterMs: 10 } });
  worker = await startFaultWorker({ DATABASE_URL: url });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await model?.close();
  await temporal?.close();
  await handle?.close();
  await stopPostgresServer(DATA_DIR);
});

it('a run survives a PostgreSQL restart mid-batch with every sample stored once', async () => {
  const ownerId = await insertUser(handle.db);
  const first = await insertArithmeticDataset(handle.db, 1200);
  const second = await insertArithmeticDataset(handle.db, 300, 'sums');
  const runId = await insertRun(handle.db, {
    ownerId,
    endpoint: model.url,
    datasets: [first, second],
    limits: { maxConcurrency: 8 },
    batching: { samplesPerBatch: 200, batchesPerExecution: 3 },
  });
  await startRunByHand(temporal.client, runId);

  const done = async () =>
    (await handle.db.select({ done: runDatasets.done }).from(runDatasets).where(eq(runDatasets.runId, runId))).reduce(
      (n, d) => n + d.done,
      0,
    );
  const deadline = Date.now() + 120_000;
  let before: number;
  while ((before = await done()) < 300) {
    if (Date.now() > deadline) throw new Error(`the run made no progress:\n${worker!.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // A fast shutdown drops every connection, the pool's included, as a database host going away does.
  await stopPostgresServer(DATA_DIR);
  // Long enough for groups to fail to store, activities to fail and be retried, and heartbeats to go on.
  await new Promise((r) => setTimeout(r, 4000));
  await start();

  const status = await waitForRunEnd(handle.db, runId, 240_000);
  expect(before).toBeLessThan(1500);
  expect(status, worker!.output().slice(-4000)).toBe('succeeded');
  const account = await expectAccountedFor(handle.db, runId);
  expect(account.datasets.map((d) => [d.status, d.rows, d.scored])).toEqual([
    ['succeeded', 1200, 1200],
    ['succeeded', 300, 300],
  ]);
  expect(account.view.datasets.map((d) => d.metrics!.score)).toEqual([1, 1]);
  // The outage hit work in flight: some batch failed to store and was tried again (the batch
  // summary's dedupe key ends in the attempt that wrote it).
  const batchLines = await handle.db
    .select({ key: runLogs.dedupeKey })
    .from(runLogs)
    .where(and(eq(runLogs.runId, runId), like(runLogs.dedupeKey, 'batch:%')));
  expect(
    batchLines.some((l) => Number(l.key!.split(':').at(-1)) > 1),
    'a batch retried after the outage',
  ).toBe(true);
  // The worker lived through it: a process that died would have needed a restart nobody made.
  expect(worker!.child.exitCode).toBeNull();
}, 360_000);
