/** Worker process entry point: `npm run worker`. Stops gracefully on SIGINT/SIGTERM. */
import './memoryTuning';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadEnv } from '../config/env';
import { createLogger } from '../config/logger';
import { connectDb } from '../db/client';
import { LAUNCH_SWEEP, temporalConnectionConfig } from '../temporal.config';
import { temporalConnectionOptions } from '../temporalClient/connectionOptions';
import { connectDocker } from '../docker/engine';
import { ensureCodeSandboxImage } from '../docker/codeSandboxImage';
import { BACKBONE_TORCH_IMAGE_REF, ensureBackboneImage } from '../docker/backboneImage';
import { reapStaleSandboxes } from '../docker/codeSandbox';
import { createWorkers } from './createWorkers';
import { workflowBundle } from './workflowBundle';
import path from 'node:path';
import { startContainerReaper } from './containerReaper';
import { startJobsJanitor } from './jobsJanitor';
import { startMailDispatcher } from './mailDispatcher';
import { ensureLaunchSweepSchedule } from './launchSweepSchedule';
import { createSmtpMailer, smtpServerName } from '../activities/notifications/smtpMailer';
import { DEFAULT_RETRY_SCHEDULE } from '../notifications/retrySchedule';
import { stopJobProxy } from '../activities/customImages/customImageJob';

const REAP_EVERY_MS = 60_000;
const JOBS_SWEEP_EVERY_MS = 3_600_000;

const env = loadEnv();
const logger = createLogger('worker', env.logLevel);
const temporal = temporalConnectionConfig();
Runtime.install({
  shutdownSignals: ['SIGINT', 'SIGTERM'],
  // Temporal SDK metrics (task slots, poll latencies, activity and workflow task outcomes) for Prometheus: docs/operations.md.
  ...(env.workerMetricsAddress
    ? { telemetryOptions: { metrics: { prometheus: { bindAddress: env.workerMetricsAddress } } } }
    : {}),
});

const database = connectDb(env.databaseUrl, { max: 20 });
// TLS, mutual TLS and an API key come from the environment (docs/operations.md).
const connectionOptions = temporalConnectionOptions(temporal);
const connection = await NativeConnection.connect(connectionOptions);
const clientConnection = await Connection.connect(connectionOptions);
const client = new Client({ connection: clientConnection, namespace: temporal.namespace });
const servesContainers = env.workerQueues.includes('containers');
const docker = servesContainers ? connectDocker(env.containers.dockerHost) : null;
if (docker) {
  // pass@k runs programs in the code sandbox: its image must be there, and sandboxes a dead worker
  // left behind (none outlives its 10 s limit by minutes) go.
  await ensureCodeSandboxImage(docker);
  const reaped = await reapStaleSandboxes(docker, 5 * 60_000);
  if (reaped.length > 0) logger.info({ reaped: reaped.length }, 'stale code sandboxes removed');
  // CV and Audio fine-tuning jobs run in the backbone image. Making it takes minutes the first time
  // (debootstrap), so it starts now in the background rather than in the first job's activity, and
  // the worker serves everything else meanwhile; a job that comes first waits for the same build.
  // Without it (no root, no debootstrap, no mirror) only those jobs fail, saying why.
  if (env.containers.backboneImageAtStart !== false)
    ensureBackboneImage(docker, {
      refresh: true,
      log: (line) => logger.info({ image: BACKBONE_TORCH_IMAGE_REF }, line),
    }).catch((error: unknown) =>
      logger.warn(
        { image: BACKBONE_TORCH_IMAGE_REF, err: error },
        `the backbone image is not available; CV and Audio fine-tuning jobs fail until it is: ${(error as Error).message}`,
      ),
    );
}
// Only the runs queue executes workflow code.
const servesRuns = env.workerQueues.includes('runs');
const bundle = servesRuns ? await workflowBundle() : null;
const workers = await createWorkers({
  connection,
  namespace: temporal.namespace,
  deps: {
    db: database.db,
    logger,
    secretKey: env.secretKey,
    serving: {
      uploads: env.uploads,
      containers: env.containers,
      docker,
      temporal: client,
    },
    leaderboard: env.leaderboard,
    judge: env.judge,
    endpoints: env.endpoints,
    temporal: client,
  },
  queues: env.workerQueues,
  inferenceSlots: env.inferenceSlots,
  ...(bundle ? { workflowBundle: { codePath: bundle.codePath } } : {}),
});
// The runs queue executes the launch sweep, so its workers keep the schedule that starts it.
if (servesRuns) {
  try {
    const outcome = await ensureLaunchSweepSchedule(client);
    if (outcome !== 'unchanged') logger.info({ schedule: LAUNCH_SWEEP.scheduleId, outcome }, 'launch sweep scheduled');
  } catch (error) {
    // Runs still launch without it; only those whose launch is cut off wait for a worker that can.
    logger.error({ err: error, schedule: LAUNCH_SWEEP.scheduleId }, 'could not make sure of the launch sweep schedule');
  }
}
const reaper = docker
  ? startContainerReaper({ db: database.db, docker, hostId: env.containers.hostId, logger, intervalMs: REAP_EVERY_MS })
  : null;
// Job files of ended runs and idle dataset caches, on this container host.
const janitor = docker
  ? startJobsJanitor({
      db: database.db,
      jobsDir: env.containers.jobsDir ?? path.join(path.dirname(env.uploads.dir), 'jobs'),
      retentionMs: env.containers.jobsRetentionMs ?? 24 * 3_600_000,
      cacheIdleMs: env.containers.jobsCacheIdleMs ?? 7 * 86_400_000,
      logger,
      intervalMs: JOBS_SWEEP_EVERY_MS,
    })
  : null;
// Mail goes out from the processes that run the runs queue, where the run-ended mails are queued.
const mail =
  servesRuns && env.mail.smtpUrl
    ? startMailDispatcher({
        db: database.db,
        logger,
        mailer: createSmtpMailer(env.mail.smtpUrl, env.mail.from),
        schedule: { ...DEFAULT_RETRY_SCHEDULE, maxAttempts: env.mail.maxAttempts },
      })
    : null;
if (mail) logger.info({ smtp: smtpServerName(env.mail.smtpUrl!), from: env.mail.from }, 'mail on');
else if (servesRuns)
  logger.info('mail is off (PROCTOR_SMTP_URL is not set): mails wait in the outbox until a worker with it runs');
logger.info(
  { queues: env.workerQueues, temporal: temporal.address, containerHost: docker ? env.containers.hostId : null },
  'worker started',
);
try {
  await Promise.all(workers.map((w) => w.run()));
} finally {
  reaper?.stop();
  janitor?.stop();
  await mail?.stop();
  await stopJobProxy();
  await clientConnection.close();
  await connection.close();
  await database.close();
  await bundle?.dispose();
  logger.info('worker stopped');
}
