/**
 * The one place for Temporal settings: task queues, workflow IDs, timeouts, retry policies and
 * search attributes. Workflows import this file, so it holds constants only; connection settings
 * read the environment through a function that workflow code never calls.
 */
import { ActivityCancellationType, defineSearchAttributeKey, SearchAttributeType, type ActivityOptions, type RetryPolicy } from '@temporalio/common';

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
} as const;

/** Deterministic IDs: starting a run twice is harmless, and operators can find a run by its ID. */
export const workflowIds = {
  run: (runId: string) => `run-${runId}`,
  dataset: (runId: string, datasetId: string) => `run-${runId}-dataset-${datasetId}`,
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
  samplesPerBatch: 1000,
  batchesPerExecution: 100,
} as const;

const forever: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
};

/** Errors that retrying cannot fix: they name something the user or the record must change. */
export const NON_RETRYABLE_ERRORS = ['RunNotFound', 'DatasetNotFound', 'InvalidConfiguration', 'SecretUnavailable'];

export const ACTIVITY_OPTIONS = {
  /** Database bookkeeping: short, and retried until the database is back. */
  control: {
    taskQueue: TASK_QUEUES.runs,
    startToCloseTimeout: '1 minute',
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
  /** The Excel report and other artifacts written when a run ends. */
  report: {
    taskQueue: TASK_QUEUES.runs,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: { ...forever, maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  },
} satisfies Record<string, ActivityOptions>;

/**
 * Heartbeats are throttled by the worker; a short ceiling lets a stop reach an activity within
 * about a second instead of waiting out most of the heartbeat timeout.
 */
export const MAX_HEARTBEAT_THROTTLE_INTERVAL = '1 second';

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
}

export function temporalConnectionConfig(env: NodeJS.ProcessEnv = process.env): TemporalConnectionConfig {
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
  };
}
