/** API process entry point: `npm run api`. Stops gracefully on SIGINT/SIGTERM. */
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadEnv } from '../config/env';
import { createLogger } from '../config/logger';
import { connectDb } from '../db/client';
import { temporalConnectionConfig } from '../temporal.config';
import { temporalConnectionOptions } from '../temporalClient/connectionOptions';
import { sweepStaging } from '../storage/uploadLayout';
import { buildApp } from './app';
import { sweepResumableUploads } from './uploads/resumableSweep';

let env;
try {
  env = loadEnv();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`api: ${error.message}\n`);
  process.exit(1);
}
const logger = createLogger('api', env.logLevel);
const temporalConfig = temporalConnectionConfig();

const database = connectDb(env.databaseUrl, { max: 20 });
// TLS, mutual TLS and an API key come from the environment (docs/operations.md).
const connection = await Connection.connect(temporalConnectionOptions(temporalConfig));
const temporal = new Client({ connection, namespace: temporalConfig.namespace });
const app = await buildApp({ db: database.db, temporal, env, logger });

// Staging left by a process killed mid-upload; only old ones, as other API processes may be receiving now.
const STALE_STAGING_MS = 24 * 3_600_000;
sweepStaging(env.uploads.dir, STALE_STAGING_MS)
  .then((removed) => removed.length > 0 && logger.info({ removed: removed.length }, 'removed stale upload staging'))
  .catch((error: unknown) => logger.warn({ err: error }, 'could not sweep upload staging'));

// Resumable uploads (flageval-serving CLI) that can no longer finish: their received chunks go.
const sweepResumable = () =>
  sweepResumableUploads(database.db, env.uploads.dir, new Date(), env.uploads.tokenTtlHours * 3_600_000)
    .then((ended) => ended > 0 && logger.info({ ended }, 'ended abandoned resumable uploads'))
    .catch((error: unknown) => logger.warn({ err: error }, 'could not sweep resumable uploads'));
void sweepResumable();
setInterval(() => void sweepResumable(), 3_600_000).unref();

let closing: Promise<void> | undefined;
async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'api stopping');
  // In-flight requests finish; new ones get 503 while the server closes.
  await app.close().catch((error: unknown) => logger.error({ err: error }, 'closing the server failed'));
  await database.close().catch((error: unknown) => logger.error({ err: error }, 'closing the database failed'));
  await connection
    .close()
    .catch((error: unknown) => logger.error({ err: error }, 'closing the Temporal connection failed'));
  logger.info('api stopped');
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal while closing does not start a second shutdown.
    closing ??= shutdown(signal).finally(() => process.exit(0));
  });
}

try {
  const url = await app.listen({ host: env.apiHost, port: env.apiPort });
  logger.info({ url, temporal: temporalConfig.address }, 'api listening');
} catch (error) {
  logger.error({ err: error }, 'api could not listen');
  await database.close();
  await connection.close();
  process.exit(1);
}
