/**
 * A worker like workers/main.ts (same workers, same activities, same settings from the
 * environment) except that its workflow code comes bundled beforehand, from the file that
 * BENCH_WORKFLOW_BUNDLE names, instead of being bundled with webpack inside the worker at start-up.
 * It exists to measure what in-process bundling leaves behind in a worker's memory:
 *
 *   BENCH_PREBUILT_BUNDLE=1 node --import tsx bench/scale.ts
 *
 * No container reaper and no mail dispatcher: a benchmark worker serves neither.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadEnv } from '../config/env';
import { createLogger } from '../config/logger';
import { connectDb } from '../db/client';
import { temporalConnectionConfig } from '../temporal.config';
import { createWorkers } from '../workers/createWorkers';

const codePath = process.env.BENCH_WORKFLOW_BUNDLE;
if (!codePath) throw new Error('BENCH_WORKFLOW_BUNDLE must name a bundle written by bundleWorkflowCode');

const env = loadEnv();
const logger = createLogger('worker', env.logLevel);
const temporal = temporalConnectionConfig();
Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });

const database = connectDb(env.databaseUrl, { max: 20 });
const connection = await NativeConnection.connect({ address: temporal.address });
const clientConnection = await Connection.connect({ address: temporal.address });
const workers = await createWorkers({
  connection,
  namespace: temporal.namespace,
  deps: {
    db: database.db,
    logger,
    secretKey: env.secretKey,
    serving: { uploads: env.uploads, containers: env.containers, docker: null, temporal: new Client({ connection: clientConnection, namespace: temporal.namespace }) },
  },
  queues: env.workerQueues,
  inferenceSlots: env.inferenceSlots,
  workflowBundle: { codePath },
});
logger.info({ queues: env.workerQueues, temporal: temporal.address, bundle: codePath }, 'worker started');
try {
  await Promise.all(workers.map((w) => w.run()));
} finally {
  await clientConnection.close();
  await connection.close();
  await database.close();
}
