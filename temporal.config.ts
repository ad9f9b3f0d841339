/**
 * The one place for Temporal settings: task queues, workflow IDs, timeouts, retry policies and
 * search attributes. Workflows import this file, so it holds constants only; connection settings
 * read the environment through a function that workflow code never calls.
 */
import {
  ActivityCancellationType,
  defineSearchAttributeKey,
  SearchAttributeType,
  type ActivityOptions,
  type LocalActivityOptions,
  type RetryPolicy,
} from '@temporalio/common';

export const TASK_QUEUES = {
  /** Run and dataset workflows, and the short database activities that move their records. */
  runs: 'proctor-runs',
  /** Inference over HTTP against model endpoints: scale with network and endpoint capacity. */
  inference: 'proctor-inference',
  /** Containers on Docker (later GPU) hosts. */
  containers: 'proctor-containers',
  /** Judge-model scoring. */
  judge: 'proctor-judge',
} as const;
export type TaskQueueName = keyof typeof TASK_QUEUES;

export const WORKFLOW_TYPES = {
  run: 'runEvaluation',
  dataset: 'evaluateDataset',
  leaderboardWindow: 'leaderboardWindow',
  /** The scoring debug call's judge calls, run on a judge worker for the API (api/gateways/scoringDebugGateway.ts). */
  scoringDebug: 'debugScoring',
  /** The deployment's sweep for launches cut off before their workflow started (LAUNCH_SWEEP). */
  launchSweep: 'launchSweep',
  /** An API deployment's connectivity test, run on an inference worker for the API (api/gateways/endpointCheckGateway.ts). */
  endpointCheck: 'endpointCheck',
} as const;

/**
 * A container host's own queue. A private run's container answers on its host only, so once it is
 * started every activity that talks to it (health wait, inference batches, logs, removal) is routed
 * to the queue of the host that started it.
 */
export const containerHostQueue = (hostId: string) => `${TASK_QUEUES.containers}@${hostId}`;

/** Deterministic IDs: starting a run twice is harmless, and operators can find a run by its ID. */
export const workflowIds = {
  run: (runId: string) => `run-${runId}`,
  dataset: (runId: string, datasetId: string) => `run-${runId}-dataset-${datasetId}`,
  /** A formal run's publication: waits for the owner's leaderboard submission until its window closes. */
  leaderboard: (runId: string) => `run-${runId}-leaderboard`,
  /** One scoring debug call; the API makes up the id, and nothing refers to it afterwards. */
  scoringDebug: (callId: string) => `scoring-debug-${callId}`,
  /** One endpoint check; the API makes up the id. */
  endpointCheck: (callId: string) => `endpoint-check-${callId}`,
};

/** Custom search attributes, registered when the dev server starts and set on every run. */
export const SEARCH_ATTRIBUTES = {
  domain: 'ProctorDomain',
  modelName: 'ProctorModelName',
  owner: 'ProctorOwner',
  runType: 'ProctorRunType',
  status: 'ProctorStatus',
} as const;
export const SEARCH_ATTRIBUTE_TYPE = 'Keyword' as const;
export const SEARCH_ATTRIBUTE_KEYS = {
  domain: defineSearchAttributeKey(SEARCH_ATTRIBUTES.domain, SearchAttributeType.KEYWORD),
  modelName: defineSearchAttributeKey(SEARCH_ATTRIBUTES.modelName, SearchAttributeType.KEYWORD),
  owner: defineSearchAttributeKey(SEARCH_ATTRIBUTES.owner, SearchAttributeType.KEYWORD),
  runType: defineSearchAttributeKey(SEARCH_ATTRIBUTES.runType, SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey(SEARCH_ATTRIBUTES.status, SearchAttributeType.KEYWORD),
};

/** Samples per inference activity, and activities per workflow execution before continue-as-new. */
export const BATCHING = {
  samplesPerBatch: 20_000,
  /** Batches followed by a judge or code-sandbox step, which overlaps the next batch's inference. */
  pipelinedSamplesPerBatch: 10_000,
  batchesPerExecution: 100,
} as const;

/**
 * Batching for a run asked with `concurrency` lanes. A batch ends with a tail in which lanes run
 * dry while the last requests finish, about one request's latency, and the next batch starts with
 * every lane at once; sized at 160 rounds of the lanes, those cost under 1% of the batch
 * (bench/README.md). Results are stored as they come and a retried batch skips them, so a large
 * batch loses no more to a lost worker than a small one; a stop aborts requests in flight either way.
 */
export function batchingFor(concurrency: number): { samplesPerBatch: number; batchesPerExecution: number } {
  const samplesPerBatch = Math.min(BATCHING.samplesPerBatch, Math.max(1000, concurrency * 160));
  return { samplesPerBatch, batchesPerExecution: BATCHING.batchesPerExecution };
}

/**
 * Batch size for a dataset whose batches are each followed by judging or code scoring: half the
 * rounds, so that step (run while the next batch is inferred) starts sooner and overlaps more.
 */
export function pipelinedBatchSize(concurrency: number): number {
  return Math.min(BATCHING.pipelinedSamplesPerBatch, Math.max(1000, concurrency * 80));
}

const forever: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
};

/**
 * The type names of failures that cross the Temporal boundary: an ApplicationFailure's `type`, or
 * the `name` of an error class an activity throws (RunNotFound in db/queries/runRecords.ts,
 * SecretUnavailable in db/secretBox.ts, JudgeKeyMissing in activities/judging/resolveJudge.ts),
 * which Temporal takes as its type. Retry policies, workflows and the API tell failures apart by
 * these.
 */
export const ERROR_TYPES = {
  runNotFound: 'RunNotFound',
  datasetNotFound: 'DatasetNotFound',
  /** The run's record asks for something that cannot work (a judge key that is gone, a missing plan). */
  invalidConfiguration: 'InvalidConfiguration',
  secretUnavailable: 'SecretUnavailable',
  /** A private run's container could not be served (bad upload, no units of its GPU type, failed start). */
  servingFailed: 'ServingFailed',
  /** A formal run's API endpoint did not become ready within the run's wait (activities/inference/endpointReadiness.ts). */
  endpointNotReady: 'EndpointNotReady',
  /** The refusals of a leaderboard submission by the publication workflow and its activity; the API answers each with a 409. */
  leaderboardAlreadySubmitted: 'LeaderboardAlreadySubmitted',
  leaderboardWindowClosed: 'LeaderboardWindowClosed',
  invalidLeaderboardSubmission: 'InvalidLeaderboardSubmission',
} as const;
export type ErrorType = (typeof ERROR_TYPES)[keyof typeof ERROR_TYPES];

/** Errors that retrying cannot fix: they name something the user or the record must change. */
export const NON_RETRYABLE_ERRORS: ErrorType[] = [
  ERROR_TYPES.runNotFound,
  ERROR_TYPES.datasetNotFound,
  ERROR_TYPES.invalidConfiguration,
  ERROR_TYPES.secretUnavailable,
];

export const ACTIVITY_OPTIONS = {
  /**
   * Database bookkeeping: short, and retried until the database is back. The timeout is what an
   * attempt lost on its way to a worker costs before the next one (bench/burstLatency.ts), so it
   * is kept near the slowest real attempt (closing a 100,000-sample dataset: a few seconds).
   */
  control: {
    taskQueue: TASK_QUEUES.runs,
    startToCloseTimeout: '30 seconds',
    retry: { ...forever, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
  /** One batch of samples; heartbeats carry progress so a lost worker is noticed in seconds. */
  inference: {
    taskQueue: TASK_QUEUES.inference,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: '15 seconds',
    // A stop waits for the batch to abandon its requests and store what finished, so the
    // dataset's final counts are taken after the last write.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...forever, maximumAttempts: 25, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
  /**
   * A formal run's wait for its API endpoint to be ready, on an inference worker (which may call
   * users' URLs). The activity keeps the run's wait itself, from when it was first scheduled, so a
   * retry after a lost worker does not start the wait over; this timeout is only the ceiling past
   * the longest wait allowed (a day).
   */
  readiness: {
    taskQueue: TASK_QUEUES.inference,
    startToCloseTimeout: '25 hours',
    heartbeatTimeout: '30 seconds',
    retry: {
      ...forever,
      maximumAttempts: 5,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS, ERROR_TYPES.endpointNotReady],
    },
  },
  /** Judge-model scoring of a batch's answers: like inference, on the judge's own queue. */
  judge: {
    taskQueue: TASK_QUEUES.judge,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...forever, maximumAttempts: 25, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
  /**
   * pass@k: a batch's completions run in the code sandbox on any container host. The time limit is
   * set per batch from its size (codeScoringTimeout); heartbeats every second show a lost host.
   * An engine error (SandboxError) is retried; a program's own failure is a verdict, not an error.
   */
  code: {
    taskQueue: TASK_QUEUES.containers,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '1 minute',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...forever, maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
  /** The Excel report and other artifacts written when a run ends. */
  report: {
    taskQueue: TASK_QUEUES.runs,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: { ...forever, maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
} satisfies Record<string, ActivityOptions>;

/**
 * The run's and its datasets' bookkeeping (begin, plan, finish) as local activities, under patch
 * `local-bookkeeping`: each runs inside the workflow task that asks for it and its result rides
 * back with that task, one round trip through the server instead of three per step, which is most
 * of what a short run spends waiting at its launch and its end (bench/README.md).
 */
export const LOCAL_ACTIVITY_OPTIONS = {
  control: {
    startToCloseTimeout: '30 seconds',
    retry: { ...forever, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
    // A database that stays away longer is waited for on a workflow timer, not in a worker's memory.
    localRetryThreshold: '10 seconds',
  },
} satisfies Record<string, LocalActivityOptions>;

/**
 * A code-scoring batch's time limit: each of its samples × n completions takes at most the
 * sandbox's 10 s wall clock plus about a second to create and remove its container, `concurrency`
 * at a time; ten minutes of margin cover image checks and database writes.
 */
export function codeScoringTimeoutMs(samples: number, n: number, concurrency = 2): number {
  return Math.ceil((samples * n * 11_000) / concurrency) + 10 * 60_000;
}

/** Container work: starting (which may pull an image), waiting for health, and removal. */
export const CONTAINER_ACTIVITY_OPTIONS = {
  /** Any container host may start a run's container; pulling a large image heartbeats as it goes. */
  start: {
    taskQueue: TASK_QUEUES.containers,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: {
      ...forever,
      maximumAttempts: 5,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS, ERROR_TYPES.servingFailed],
    },
  },
  /** On the container's host (taskQueue set per run); the activity enforces the health timeout itself. */
  host: {
    startToCloseTimeout: '3 hours',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      ...forever,
      maximumAttempts: 5,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS, ERROR_TYPES.servingFailed],
    },
  },
  /**
   * A container job (activities/containerJobs), on the host that runs it (taskQueue set per run).
   * The job's own wall-clock limit is kept by the activity; this timeout is only the ceiling past
   * it. A retry on the same host adopts the job's container if it is still there, so a worker
   * killed mid-job costs no second run of it.
   */
  job: {
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...forever, maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
  /**
   * Removal must not hold a run forever when its host is gone for good: after the deadline the run
   * closes anyway, and the host's reaper removes the container when it comes back.
   */
  cleanup: {
    scheduleToCloseTimeout: '15 minutes',
    startToCloseTimeout: '2 minutes',
    retry: { ...forever, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
} satisfies Record<string, Partial<ActivityOptions>>;

/**
 * A private run waiting for container units asks again at this pace (doubling up to the ceiling);
 * a released lease nudges the next runs by signal, so the poll is only a safety net.
 */
export const LEASE_POLL = { initialMs: 5_000, maxMs: 5 * 60_000 } as const;

/**
 * The launch sweep: a launch commits its run, then starts the run's workflow, so an API process killed
 * in between leaves a run queued with no workflow. One Temporal Schedule for the deployment (created
 * by the workers of the runs queue at start-up, workers/launchSweepSchedule.ts) starts a `launchSweep`
 * workflow every minute, whose one activity starts the workflows of runs queued longer than a launch
 * takes. Overlap SKIP: a sweep that is slow (Temporal or the database away) is not queued up behind.
 */
export const LAUNCH_SWEEP = {
  scheduleId: 'proctor-launch-sweep',
  workflowType: WORKFLOW_TYPES.launchSweep,
  every: '1 minute',
  /** A launch starts its workflow within a second of committing; a run queued this long lost its start. */
  minAgeMs: 120_000,
  /**
   * Runs queued longer are left alone: a day, Temporal's shortest retention. An ended workflow refuses
   * a second start only while the server keeps it, and a run whose workflow an operator terminated
   * before it began must not come back once that is forgotten.
   */
  maxAgeMs: 86_400_000,
  /** Runs looked at per sweep, oldest first; the next sweep goes on after the last one looked at. */
  pageSize: 100,
  /**
   * The sweep's activity starts at most a page of workflows. A sweep that keeps failing is not retried
   * for long: the next scheduled one, a minute later, tries again.
   */
  activity: {
    taskQueue: TASK_QUEUES.runs,
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
  },
} as const satisfies { activity: ActivityOptions } & Record<string, unknown>;

/**
 * Heartbeats are throttled by the worker; a short ceiling lets a stop reach an activity within
 * about a second instead of waiting out most of the heartbeat timeout.
 */
export const MAX_HEARTBEAT_THROTTLE_INTERVAL = '1 second';

/**
 * How often a long activity heartbeats (batches, judge calls, code sandboxes). A stop reaches an
 * activity only in the answer to a heartbeat, so beating at the throttle's ceiling lets it end
 * within about a second; and it is well inside every heartbeat timeout above.
 */
export const HEARTBEAT_INTERVAL_MS = 1_000;

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  /**
   * TLS to the frontend (docs/operations.md, "Connecting to a Temporal cluster"): on when any TLS
   * setting or an API key is given. `caPath` trusts a private CA instead of the system's; a
   * certificate and key together make it mutual TLS; `serverName` checks the server's certificate
   * against another name than the address's host.
   */
  tls: { caPath?: string; certPath?: string; keyPath?: string; serverName?: string } | null;
  /** Temporal Cloud's API key (`TEMPORAL_API_KEY`); sent as a bearer token over TLS. */
  apiKey: string | null;
}

export class TemporalConfigError extends Error {
  override name = 'TemporalConfigError';
}

export function temporalConnectionConfig(env: NodeJS.ProcessEnv = process.env): TemporalConnectionConfig {
  const tlsFields = {
    ...(env.TEMPORAL_TLS_CA ? { caPath: env.TEMPORAL_TLS_CA } : {}),
    ...(env.TEMPORAL_TLS_CERT ? { certPath: env.TEMPORAL_TLS_CERT } : {}),
    ...(env.TEMPORAL_TLS_KEY ? { keyPath: env.TEMPORAL_TLS_KEY } : {}),
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverName: env.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  if (!!tlsFields.certPath !== !!tlsFields.keyPath)
    throw new TemporalConfigError(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: mutual TLS needs the client certificate and its key',
    );
  const tlsFlag = env.TEMPORAL_TLS?.toLowerCase();
  if (tlsFlag !== undefined && !['true', 'false', '1', '0', ''].includes(tlsFlag))
    throw new TemporalConfigError(`TEMPORAL_TLS must be true or false, not ${JSON.stringify(env.TEMPORAL_TLS)}`);
  const apiKey = env.TEMPORAL_API_KEY || null;
  const wanted = tlsFlag === 'true' || tlsFlag === '1' || Object.keys(tlsFields).length > 0 || apiKey !== null;
  if ((tlsFlag === 'false' || tlsFlag === '0') && wanted)
    throw new TemporalConfigError(
      'TEMPORAL_TLS is false but TLS settings or an API key are given: an API key needs TLS',
    );
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    tls: wanted ? tlsFields : null,
    apiKey,
  };
}
