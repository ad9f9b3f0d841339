/**
 * The Temporal server goes away mid-run and comes back on the same port and SQLite file. It is a
 * dev server this test starts for itself, so the shared one keeps serving everyone else. The worker
 * process must reconnect on its own and the run end succeeded with every sample stored once.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { Client, Connection } from '@temporalio/client';
import { connectDb, type DbHandle } from '../../db/client';
import { runDatasets } from '../../db/schema';
import { requireTemporalCliPath } from '../../stack/temporalCli';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporalServer';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import type { WorkerProcess } from '../support/workerProcess';
import { freePort } from '../support/ports';
import { requireEnv } from '../support/env';
import { expectAccountedFor, waitForRunEnd } from './accounting';
import { startFaultWorker } from './faultWorker';
import { startRunByHand } from '../support/workflowStarts';

const DATA_DIR = path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `faults-temporal-${process.pid}`);
const NAMESPACE = 'default';
let port: number;
let server: TemporalDevServer | undefined;
let handle: DbHandle;
let model: ReferenceModel;
let worker: WorkerProcess | undefined;

async function startServer(): Promise<TemporalDevServer> {
  return startTemporalDevServer({
    cli: { path: await requireTemporalCliPath() },
    dataDir: DATA_DIR,
    ip: '127.0.0.1',
    port,
    namespace: NAMESPACE,
    headless: true,
  });
}

beforeAll(async () => {
  port = await freePort();
  server = await startServer();
  handle = connectDb(requireEnv('DATABASE_URL'));
  model = await startReferenceModel({ port: 0, knobs: { skill: 1, latencyMs: 15, jitterMs: 10 } });
  worker = await startFaultWorker({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: NAMESPACE });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await server?.stop();
  await model?.close();
  await handle?.close();
});

it('a run survives a restart of the Temporal server with every sample stored once', async () => {
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
  const connection = await Connection.connect({ address: server!.address });
  try {
    await startRunByHand(new Client({ connection, namespace: NAMESPACE }), runId);
  } finally {
    await connection.close();
  }

  const done = async () =>
    (await handle.db.select({ done: runDatasets.done }).from(runDatasets).where(eq(runDatasets.runId, runId))).reduce(
      (n, d) => n + d.done,
      0,
    );
  const deadline = Date.now() + 120_000;
  while ((await done()) < 300) {
    if (Date.now() > deadline) throw new Error(`the run made no progress:\n${worker!.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await server!.stop();
  // Batches in flight may finish while the server is down; nothing new can be scheduled.
  await new Promise((r) => setTimeout(r, 3000));
  const whileDown = await done();
  server = await startServer();

  const status = await waitForRunEnd(handle.db, runId, 240_000);
  expect(whileDown).toBeLessThan(1500);
  expect(status, worker!.output().slice(-4000)).toBe('succeeded');
  const account = await expectAccountedFor(handle.db, runId);
  expect(account.datasets.map((d) => [d.status, d.rows, d.scored])).toEqual([
    ['succeeded', 1200, 1200],
    ['succeeded', 300, 300],
  ]);
  expect(account.view.datasets.map((d) => d.metrics!.score)).toEqual([1, 1]);
  expect(worker!.child.exitCode, 'the worker process rode out the outage').toBeNull();
}, 360_000);
