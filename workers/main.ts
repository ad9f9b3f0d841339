/** Worker process entry point: `npm run worker`. Stops gracefully on SIGINT/SIGTERM. */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadEnv } from '../config/env';
import { createLogger } from '../config/logger';
import { connectDb } from '../db/client';
import { temporalConnectionConfig } from '../temporal.config';
import { createWorkers } from './createWorkers';

const env = loadEnv();
const logger = createLogger('worker', env.logLevel);
const temporal = temporalConnectionConfig();
Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });

const database = connectDb(env.databaseUrl, { max: 20 });
const connection = await NativeConnection.connect({ address: temporal.address });
const workers = await createWorkers({
  connection,
  namespace: temporal.namespace,
  deps: { db: database.db, logger, secretKey: env.secretKey },
  queues: env.workerQueues,
  inferenceSlots: env.inferenceSlots,
});
logger.info({ queues: env.workerQueues, temporal: temporal.address }, 'worker started');
try {
  await Promise.all(workers.map((w) => w.run()));
} finally {
  await connection.close();
  await database.close();
  logger.info('worker stopped');
}
