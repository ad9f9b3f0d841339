/**
 * The record. Every table an activity writes has a natural key so writes are upserts and a
 * retried activity never duplicates a row. Tables are grouped by aggregate, each group under its
 * heading; the query modules of db/queries follow the same aggregates.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Domain } from '../contracts/domain';
import type { Role } from '../contracts/user';
import type { InferenceParams, ModelInfo, PublicDeployment, RunLimits } from '../contracts/evaluation';
import type { DatasetSource, MetricName } from '../contracts/dataset';
import type { CodeVerdict, DatasetMetrics, RunConfig, RunStatus, RunType, SampleStatus } from '../contracts/run';
import type { ResumableUploadState, UploadCheckReport, UploadKind } from '../contracts/upload';
import type { ImageSource, ImageStatus } from '../contracts/image';
import type { NotificationKind, NotificationStatus } from '../notifications/notification';
import type { StoredScoringConfig } from '../contracts/scoringConfig';
import type { ScoringMethod, ScoringStep } from '../contracts/scoringTrace';
import type { ReviewStatus } from '../contracts/review';
import type { LeaderboardMode, PublicationStatus, SuiteDataset } from '../contracts/leaderboard';
import type { RankingWeights } from '../contracts/comparison';
import type { BackboneTasks } from '../contracts/backbone';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

// ---- Users, their API keys and monthly quotas ---------------------------------------------------

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  organization: text('organization').notNull().default(''),
  email: text('email').notNull(),
  role: text('role').$type<Role>().notNull(),
  createdAt: createdAt(),
});

/** API keys are stored as SHA-256 hashes; the key itself is shown once, at creation. */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id),
  keyHash: text('key_hash').notNull().unique(),
  prefix: text('prefix').notNull(),
  createdAt: createdAt(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** Monthly launch counters; a conditional upsert makes the limit race-free. */
export const quotaUsage = pgTable(
  'quota_usage',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    month: text('month').notNull(),
    kind: text('kind').$type<'formal' | 'manual'>().notNull(),
    used: integer('used').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.userId, t.month, t.kind] })],
);

// ---- Container images ---------------------------------------------------------------------------

/** Container images: preloaded by the platform (source 'platform'), or imported by users for review. */
export const images = pgTable(
  'images',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    tag: text('tag').notNull(),
    source: text('source').$type<ImageSource>().notNull(),
    ownerId: uuid('owner_id').references(() => users.id),
    status: text('status').$type<ImageStatus>().notNull(),
    url: text('url').notNull(),
    dockerfile: text('dockerfile').notNull().default(''),
    description: text('description').notNull().default(''),
    domains: jsonb('domains').$type<string[]>().notNull(),
    framework: text('framework').notNull().default(''),
    hardware: text('hardware').notNull().default(''),
    /** The reference the Docker engine runs (a local tag for preloaded images, the URL for user images). */
    runRef: text('run_ref').notNull(),
    rejectReason: text('reject_reason'),
    reviewedBy: uuid('reviewed_by').references(() => users.id),
    reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
    /** Set when an admin withdraws an approved image (status 'taken-down'); the review above is kept. */
    takedownReason: text('takedown_reason'),
    takenDownBy: uuid('taken_down_by').references(() => users.id),
    takenDownAt: timestamp('taken_down_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('images_name_tag_uq').on(t.name, t.tag), index('images_owner_idx').on(t.ownerId)],
);

// ---- Datasets and their items -------------------------------------------------------------------

export const datasets = pgTable('datasets', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  domain: text('domain').$type<Domain>().notNull(),
  task: text('task').notNull(),
  description: text('description').notNull().default(''),
  metric: text('metric').$type<MetricName>().notNull(),
  subjective: boolean('subjective').notNull().default(false),
  builtin: boolean('builtin').notNull(),
  /** Null for built-ins, which everyone sees; custom datasets are private to their owner. */
  ownerId: uuid('owner_id').references(() => users.id),
  size: integer('size').notNull(),
  contentHash: text('content_hash').notNull(),
  /** `items`: stored here; `image`: a benchmark a custom evaluation image brings, with no items here. */
  source: text('source').$type<DatasetSource>().notNull().default('items'),
  createdAt: createdAt(),
});

export const datasetItems = pgTable(
  'dataset_items',
  {
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    idx: integer('idx').notNull(),
    itemId: text('item_id').notNull(),
    prompt: text('prompt').notNull(),
    groundTruth: text('ground_truth').notNull(),
    choices: jsonb('choices').$type<string[]>(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
  },
  (t) => [
    primaryKey({ columns: [t.datasetId, t.idx] }),
    uniqueIndex('dataset_items_item_id_uq').on(t.datasetId, t.itemId),
  ],
);

/**
 * The pictures of a custom multimodal dataset (docs/multimodal.md), by the file name its items
 * give in metadata.images. Kept here like the items, so any container host or inference worker
 * can draw them; the built-ins' pictures are drawn from their scenes instead.
 */
export const datasetPictures = pgTable(
  'dataset_pictures',
  {
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sha256: text('sha256').notNull(),
    content: bytea('content').notNull(),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.name] })],
);

// ---- Evaluations: scoring configuration, judge keys, uploaded predictions -----------------------

export const evaluations = pgTable(
  'evaluations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id),
    domain: text('domain').$type<Domain>().notNull(),
    modelName: text('model_name').notNull(),
    description: text('description').notNull().default(''),
    datasetIds: jsonb('dataset_ids').$type<string[]>().notNull(),
    deployment: jsonb('deployment').$type<PublicDeployment>().notNull(),
    /** AES-256-GCM ciphertext of the model endpoint's API key; never leaves the database in clear. */
    apiKeyCipher: text('api_key_cipher'),
    robustness: boolean('robustness').notNull(),
    modelInfo: jsonb('model_info').$type<ModelInfo>().notNull(),
    inference: jsonb('inference').$type<InferenceParams>().notNull(),
    limits: jsonb('limits').$type<RunLimits>().notNull(),
    /** CV and Audio: the evaluation tasks with their adaptation methods (contracts/backbone.ts); null elsewhere. */
    backboneTasks: jsonb('backbone_tasks').$type<BackboneTasks>(),
    /** Last version handed out to a run of this evaluation; bumped atomically at launch. */
    runCounter: integer('run_counter').notNull().default(0),
    /** Last upload version handed out for this evaluation's model and code; bumped atomically. */
    uploadCounter: integer('upload_counter').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when the owner deletes the evaluation: hidden from them, closed to runs and edits; its runs stay. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    // Names are unique platform-wide regardless of case, enforced by the database so two
    // concurrent creations cannot both win.
    uniqueIndex('evaluations_model_name_lower_uq').on(sql`lower(${t.modelName})`),
    index('evaluations_owner_idx').on(t.ownerId, t.createdAt),
  ],
);

/** An evaluation's scoring configuration (contracts/scoringConfig.ts), judge keys referenced by id. */
export const scoringConfigs = pgTable('scoring_configs', {
  evaluationId: uuid('evaluation_id')
    .primaryKey()
    .references(() => evaluations.id, { onDelete: 'cascade' }),
  config: jsonb('config').$type<StoredScoringConfig>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Judge API keys, sealed (db/secretBox.ts). Rows are never changed: a new key is a new row, so a
 * run launched with the old one keeps reading it by the id frozen in its configuration. A key sent
 * with one scoring debug call is sealed here for that call only and deleted when it ends; no
 * configuration or run refers to it.
 */
export const judgeKeys = pgTable('judge_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  evaluationId: uuid('evaluation_id')
    .notNull()
    .references(() => evaluations.id, { onDelete: 'cascade' }),
  cipher: text('cipher').notNull(),
  createdAt: createdAt(),
});

/** One upload of an evaluation-only evaluation's predictions for one dataset. Never changed: a new upload is a new set. */
export const predictionSets = pgTable(
  'prediction_sets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id),
    /** The dataset content the predictions were checked against (datasets/contentHash.ts). */
    datasetContentHash: text('dataset_content_hash').notNull(),
    items: integer('items').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('prediction_sets_latest_idx').on(t.evaluationId, t.datasetId, t.createdAt)],
);

/** One prediction per item of the set's dataset, by item index. */
export const predictions = pgTable(
  'predictions',
  {
    setId: uuid('set_id')
      .notNull()
      .references(() => predictionSets.id, { onDelete: 'cascade' }),
    sampleIdx: integer('sample_idx').notNull(),
    prediction: text('prediction').notNull(),
  },
  (t) => [primaryKey({ columns: [t.setId, t.sampleIdx] })],
);

// ---- Uploads of model and serving code ----------------------------------------------------------

/**
 * Tokens that let the CLI upload model and code for one evaluation. Stored hashed; scoped to one
 * evaluation, expiring and revocable. A token is bound to the version its first upload made, and
 * its `cp` and `ls` act on the latest version derived from that one.
 */
export const uploadTokens = pgTable(
  'upload_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    uploadVersion: integer('upload_version'),
  },
  (t) => [index('upload_tokens_evaluation_idx').on(t.evaluationId, t.createdAt)],
);

/** One immutable tree of model and code per upload or append; the files live under the upload directory. */
export const uploadVersions = pgTable(
  'upload_versions',
  {
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    tokenId: uuid('token_id').references(() => uploadTokens.id, { onDelete: 'set null' }),
    kind: text('kind').$type<UploadKind>().notNull(),
    derivedFrom: integer('derived_from'),
    files: integer('files').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    /** Relative to the upload directory, so the directory can move between hosts or mounts. */
    storagePath: text('storage_path').notNull(),
    check: jsonb('check').$type<UploadCheckReport>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.evaluationId, t.version] })],
);

/**
 * An upload in progress over the flageval-serving CLI's protocol (api/routes/flagevalUploads.ts):
 * the files it declared, received chunk by chunk, so an interrupted upload resumes where it
 * stopped. When the last chunk arrives the files become a new version (an `upload` for a token
 * that holds none yet, else a `cp` on top of the token's version). A token has at most one open.
 */
export const resumableUploads = pgTable(
  'resumable_uploads',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenId: uuid('token_id')
      .notNull()
      .references(() => uploadTokens.id, { onDelete: 'cascade' }),
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id, { onDelete: 'cascade' }),
    /** The token's version when the upload was declared: the new version derives from it (null: a first upload). */
    baseVersion: integer('base_version'),
    state: text('state').$type<ResumableUploadState>().notNull().default('open'),
    /** Hash of the declared names and sizes, so declaring the same files again resumes instead of restarting. */
    manifestHash: text('manifest_hash').notNull(),
    chunkKb: integer('chunk_kb').notNull(),
    /** The version it became, once complete. */
    version: integer('version'),
    failure: text('failure'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('resumable_uploads_open_uq')
      .on(t.tokenId)
      .where(sql`${t.state} in ('open', 'committing')`),
  ],
);

/** One declared file of a resumable upload; its id is what the client names in chunk requests. */
export const resumableUploadFiles = pgTable(
  'resumable_upload_files',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    uploadId: uuid('upload_id')
      .notNull()
      .references(() => resumableUploads.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    /** The file's path inside the version (safe, relative). */
    path: text('path').notNull(),
    sizeKb: bigint('size_kb', { mode: 'number' }).notNull(),
    chunks: integer('chunks').notNull(),
    /** Chunk numbers (1-based) received whole. */
    readyChunks: integer('ready_chunks')
      .array()
      .notNull()
      .default(sql`'{}'::integer[]`),
  },
  (t) => [
    uniqueIndex('resumable_upload_files_path_uq').on(t.uploadId, t.path),
    index('resumable_upload_files_position_idx').on(t.uploadId, t.position),
  ],
);

// ---- Runs: their datasets, results, judge steps, reuse, logs, artifacts, launch keys, containers

export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey(),
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id),
    submitterId: uuid('submitter_id')
      .notNull()
      .references(() => users.id),
    version: integer('version').notNull(),
    type: text('type').$type<RunType>().notNull(),
    status: text('status').$type<RunStatus>().notNull().default('queued'),
    config: jsonb('config').$type<RunConfig>().notNull(),
    apiKeyCipher: text('api_key_cipher'),
    overallScore: doublePrecision('overall_score'),
    taskScores: jsonb('task_scores').$type<{ task: string; score: number; datasets: number }[]>(),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    stopRequestedAt: timestamp('stop_requested_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('runs_evaluation_version_uq').on(t.evaluationId, t.version),
    index('runs_owner_idx').on(t.ownerId, t.createdAt),
    // The launch reconciler's sweep: only the few runs not yet picked up by a workflow.
    index('runs_queued_idx')
      .on(t.createdAt)
      .where(sql`${t.status} = 'queued'`),
  ],
);

export const runDatasets = pgTable(
  'run_datasets',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id),
    position: integer('position').notNull(),
    task: text('task').notNull(),
    status: text('status').$type<RunStatus>().notNull().default('queued'),
    total: integer('total').notNull(),
    /** Samples stored (scored or failed); advanced in the same transaction that stores them. */
    done: integer('done').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    /** Tokens the judge spent on this dataset, added by each judging batch (a retried batch's calls were spent too). */
    judgePromptTokens: bigint('judge_prompt_tokens', { mode: 'number' }).notNull().default(0),
    judgeCompletionTokens: bigint('judge_completion_tokens', { mode: 'number' }).notNull().default(0),
    metrics: jsonb('metrics').$type<DatasetMetrics>(),
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.runId, t.datasetId] })],
);

/** One row per sample of a run: the primary key is what makes "scored exactly once" hold. */
export const sampleResults = pgTable(
  'sample_results',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id').notNull(),
    sampleIdx: integer('sample_idx').notNull(),
    /** Position in the run's sample plan; results are paged in this order. */
    position: integer('position').notNull(),
    predict: text('predict'),
    score: doublePrecision('score'),
    status: text('status').$type<SampleStatus>().notNull(),
    error: text('error'),
    /** Completion tokens: as the endpoint reported them, or counted (tokensCounted). */
    outputLength: integer('output_length').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    attempts: integer('attempts').notNull().default(1),
    /** Prompt tokens of the answer (of all n for a pass_at_k problem); 0 for a failed sample. */
    promptTokens: integer('prompt_tokens').notNull().default(0),
    /** True when the endpoint reported no usage and the platform counted the tokens (docs/tokens-and-cost.md). */
    tokensCounted: boolean('tokens_counted').notNull().default(false),
    // --- code and robustness (0008): see the block of that name below.
    completions: jsonb('completions').$type<string[]>(),
    codeVerdicts: jsonb('code_verdicts').$type<CodeVerdict[]>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.datasetId, t.sampleIdx] }),
    index('sample_results_position_idx').on(t.runId, t.datasetId, t.position),
  ],
);

/** How each judged sample got its score: every step, from preprocessing to the parsed score. */
export const judgeSteps = pgTable(
  'judge_steps',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id').notNull(),
    sampleIdx: integer('sample_idx').notNull(),
    itemId: text('item_id').notNull(),
    method: text('method').$type<ScoringMethod>().notNull(),
    score: doublePrecision('score'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    steps: jsonb('steps').$type<ScoringStep[]>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.datasetId, t.sampleIdx] }),
    index('judge_steps_item_idx').on(t.runId, t.datasetId, t.itemId),
  ],
);

// A pass_at_k sample keeps its n completions in sample_results.completions and, once the sandbox
// ran them, one verdict each in sample_results.code_verdicts (activities/codeScoring).
/**
 * The robustness pass of a formal run (activities/robustness): each sample answered again with its
 * prompt perturbed, stored apart from sample_results so the clean pass's rows and metrics are the
 * same whether or not the run measured robustness. Same key and exactly-once rule as sample_results.
 */
export const perturbedSampleResults = pgTable(
  'perturbed_sample_results',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id').notNull(),
    sampleIdx: integer('sample_idx').notNull(),
    position: integer('position').notNull(),
    /** The perturbed prompt the model was asked. */
    prompt: text('prompt').notNull(),
    predict: text('predict'),
    score: doublePrecision('score'),
    status: text('status').$type<SampleStatus>().notNull(),
    error: text('error'),
    outputLength: integer('output_length').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    attempts: integer('attempts').notNull().default(1),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.datasetId, t.sampleIdx] })],
);

/**
 * A formal run's dataset: the fingerprint of everything that decides its answers and scores
 * (db/queries/reuse.ts), and, once beginDataset has decided, the earlier run it was copied from.
 */
export const runDatasetReuse = pgTable(
  'run_dataset_reuse',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id').notNull(),
    fingerprint: text('fingerprint').notNull(),
    /** False when the launch asked for a fresh run (`reuse: false`): the result may be reused later, but reuses nothing. */
    mayReuse: boolean('may_reuse').notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    reusedFromRunId: uuid('reused_from_run_id'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.datasetId] }),
    index('run_dataset_reuse_fingerprint_idx').on(t.fingerprint),
  ],
);

/**
 * The `model` and `system_fingerprint` pairs a run's answers carried, each once, in the order first
 * seen: a pair after the first means the model changed under the run (docs/tokens-and-cost.md).
 */
export const runModelIdentities = pgTable(
  'run_model_identities',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** '' when the answers carried none, so the key needs no nullable column. */
    model: text('model').notNull(),
    systemFingerprint: text('system_fingerprint').notNull(),
    datasetId: text('dataset_id').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.model, t.systemFingerprint] })],
);

export const runLogs = pgTable(
  'run_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id'),
    level: text('level').$type<'debug' | 'info' | 'warn' | 'error'>().notNull(),
    message: text('message').notNull(),
    /** Lets an activity retried after a crash write its log line once. */
    dedupeKey: text('dedupe_key'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('run_logs_run_idx').on(t.runId, t.id), uniqueIndex('run_logs_dedupe_uq').on(t.runId, t.dedupeKey)],
);

/** Files a run keeps after it ends (the Excel report). */
export const runArtifacts = pgTable(
  'run_artifacts',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    contentType: text('content_type').notNull(),
    content: bytea('content').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.kind] })],
);

/**
 * Idempotency-Key of requests that start work: the first request with a key does the work and
 * records what it made; a retry with the same key gets that back instead of a second run (and a
 * second quota slot). Written in the same transaction as the work, so the two cannot disagree.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** What the request was (method, route, target and body), hashed: a key reused for another request is refused. */
    requestHash: text('request_hash').notNull(),
    runId: uuid('run_id').references(() => runs.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

/**
 * The queue for container units: a private run asks for `units` of a GPU type; requests are granted
 * in priority order (then oldest first) while the type has units free. Released when the run ends.
 */
export const containerLeases = pgTable(
  'container_leases',
  {
    runId: uuid('run_id')
      .primaryKey()
      .references(() => runs.id, { onDelete: 'cascade' }),
    gpuType: text('gpu_type').notNull(),
    units: integer('units').notNull(),
    priorityRank: integer('priority_rank').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
    grantedAt: timestamp('granted_at', { withTimezone: true }),
    releasedAt: timestamp('released_at', { withTimezone: true }),
  },
  (t) => [index('container_leases_queue_idx').on(t.gpuType, t.priorityRank, t.requestedAt)],
);

// ---- Manual review: subjective datasets scored by reviewers -------------------------------------

/**
 * One manual evaluation per run that has subjective datasets under review. The status moves only
 * forward, each step guarded by the one before it, so the API and the run's workflow can race
 * (launch against expiry, completion against abandonment) and exactly one outcome is recorded.
 */
export const manualReviews = pgTable(
  'manual_reviews',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .unique()
      .references(() => runs.id, { onDelete: 'cascade' }),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id),
    status: text('status').$type<ReviewStatus>().notNull().default('pending'),
    datasetIds: jsonb('dataset_ids').$type<string[]>().notNull(),
    launchDeadline: timestamp('launch_deadline', { withTimezone: true }),
    launchedBy: uuid('launched_by').references(() => users.id),
    launchedAt: timestamp('launched_at', { withTimezone: true }),
    /** The UTC month whose manual quota the launch took, so an abandonment can give the slot back. */
    quotaMonth: text('quota_month'),
    /** The last reminder queued (0 before any): each reminder has its own mail dedupe key. */
    reminders: integer('reminders').notNull().default(0),
    lastRemindedAt: timestamp('last_reminded_at', { withTimezone: true }),
    endedBy: uuid('ended_by').references(() => users.id),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [index('manual_reviews_status_idx').on(t.status, t.createdAt)],
);

/** A reviewer's score of one answer; scoring an item again overwrites it. */
export const reviewScores = pgTable(
  'review_scores',
  {
    reviewId: uuid('review_id')
      .notNull()
      .references(() => manualReviews.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id').notNull(),
    sampleIdx: integer('sample_idx').notNull(),
    points: integer('points').notNull(),
    comment: text('comment'),
    reviewerId: uuid('reviewer_id')
      .notNull()
      .references(() => users.id),
    scoredAt: timestamp('scored_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.reviewId, t.datasetId, t.sampleIdx] })],
);

// ---- Leaderboard: publication of formal runs ----------------------------------------------------

/**
 * One row per formal run that succeeded: its submission window, and once the owner submits, how it
 * is shown. Only rows with status 'submitted' appear on the domain's board. The run's publication
 * workflow moves the status (open → submitted | closed); the primary key makes each move an upsert.
 */
export const leaderboardSubmissions = pgTable(
  'leaderboard_submissions',
  {
    runId: uuid('run_id')
      .primaryKey()
      .references(() => runs.id, { onDelete: 'cascade' }),
    domain: text('domain').$type<Domain>().notNull(),
    status: text('status').$type<PublicationStatus>().notNull().default('open'),
    opensAt: timestamp('opens_at', { withTimezone: true }).notNull().defaultNow(),
    closesAt: timestamp('closes_at', { withTimezone: true }).notNull(),
    mode: text('mode').$type<LeaderboardMode>(),
    submittedBy: uuid('submitted_by').references(() => users.id),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** The board's suite version the run was submitted under (null: submitted before boards had suites). */
    suiteVersion: integer('suite_version'),
  },
  (t) => [index('leaderboard_submissions_board_idx').on(t.domain, t.status)],
);

/**
 * A board's suite: the datasets (each pinned to its content) every ranked run must have finished.
 * Versions are never changed: an admin's new list is a new version, and submissions made under an
 * earlier one stay under it. Version 1 of a domain is made on first use from its admissible
 * built-in datasets.
 */
export const leaderboardSuites = pgTable(
  'leaderboard_suites',
  {
    domain: text('domain').$type<Domain>().notNull(),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    datasets: jsonb('datasets').$type<SuiteDataset[]>().notNull(),
    /** The admin who set it; null for the platform's default. */
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.domain, t.version] })],
);

// ---- Comparisons: several models evaluated in one task, ranked with adjustable weights ----------

/**
 * A comparison: one formal run per model over the same datasets. Its runs are ordinary runs (the
 * comparison only groups them), so its progress and status are read from them. The optional
 * Idempotency-Key is unique per owner: a retried creation blocks on it, then finds the first.
 */
export const comparisons = pgTable(
  'comparisons',
  {
    id: uuid('id').primaryKey(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id),
    name: text('name').notNull(),
    domain: text('domain').$type<Domain>().notNull(),
    datasetIds: jsonb('dataset_ids').$type<string[]>().notNull(),
    weights: jsonb('weights').$type<RankingWeights>().notNull().default({}),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    createdAt: createdAt(),
    stopRequestedAt: timestamp('stop_requested_at', { withTimezone: true }),
  },
  (t) => [
    index('comparisons_owner_idx').on(t.ownerId, t.createdAt),
    uniqueIndex('comparisons_idempotency_uq').on(t.ownerId, t.idempotencyKey),
  ],
);

/** The run of each model of a comparison, in the order the models were given. */
export const comparisonRuns = pgTable(
  'comparison_runs',
  {
    comparisonId: uuid('comparison_id')
      .notNull()
      .references(() => comparisons.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    evaluationId: uuid('evaluation_id')
      .notNull()
      .references(() => evaluations.id),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.comparisonId, t.position] }), uniqueIndex('comparison_runs_run_uq').on(t.runId)],
);

// ---- Notifications ------------------------------------------------------------------------------

/**
 * The outbox: mails to users, queued by whatever saw the event happen (in its own transaction where
 * it can) and delivered by the worker's mail dispatcher, so a mail server that is down delays mail
 * and never fails a run. The dedupe key names the event, so an event queues one mail however often
 * its code is retried.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').$type<NotificationKind>().notNull(),
    recipientId: uuid('recipient_id')
      .notNull()
      .references(() => users.id),
    /** The address as it was when the mail was queued. */
    recipientEmail: text('recipient_email').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body'),
    dedupeKey: text('dedupe_key').notNull().unique(),
    status: text('status').$type<NotificationStatus>().notNull().default('pending'),
    /** Delivery tries begun so far (a try is counted when a dispatcher claims the mail). */
    attempts: integer('attempts').notNull().default(0),
    /** When the mail is next due; a dispatcher that claims it pushes this past its lease. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    index('notifications_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
    index('notifications_recipient_idx').on(t.recipientId, t.createdAt),
  ],
);

// ---- Endpoint traffic ---------------------------------------------------------------------------

/**
 * A budget an admin set for one endpoint identity: a base URL and the fingerprint of the API key
 * sent to it (an HMAC under the platform's secret key, never the key; 'none' for no key). Every
 * request of every run and judge to that identity, from any worker process, draws on it. The
 * allowance columns are the shared token buckets, refilled at the limits' rates when a process
 * takes from them under the row's lock (docs/rate-limits.md).
 */
export const endpointBudgets = pgTable(
  'endpoint_budgets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Normalised: scheme and host lower-case, no trailing slash. */
    baseUrl: text('base_url').notNull(),
    keyFingerprint: text('key_fingerprint').notNull(),
    requestsPerMinute: integer('requests_per_minute'),
    tokensPerMinute: integer('tokens_per_minute'),
    maxConcurrent: integer('max_concurrent'),
    requestAllowance: doublePrecision('request_allowance').notNull().default(0),
    tokenAllowance: doublePrecision('token_allowance').notNull().default(0),
    refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull().defaultNow(),
    /** Takes so far (one transaction each), to see what keeping the budget costs the database. */
    takes: bigint('takes', { mode: 'number' }).notNull().default(0),
    updatedBy: uuid('updated_by').references(() => users.id),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('endpoint_budgets_identity_idx').on(t.baseUrl, t.keyFingerprint)],
);

/**
 * Concurrent-request slots a worker process holds on a budget. A process renews its lease while it
 * holds slots; one that dies stops renewing, and its slots count for nothing once the lease expires.
 */
export const endpointBudgetLeases = pgTable(
  'endpoint_budget_leases',
  {
    budgetId: uuid('budget_id')
      .notNull()
      .references(() => endpointBudgets.id, { onDelete: 'cascade' }),
    /** A random id per worker process (and budget client). */
    holder: text('holder').notNull(),
    slots: integer('slots').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.budgetId, t.holder] })],
);

/** How a run's traffic to its endpoint stands: the adaptive concurrency limit and the 429s seen. */
export const runTraffic = pgTable('run_traffic', {
  runId: uuid('run_id')
    .primaryKey()
    .references(() => runs.id, { onDelete: 'cascade' }),
  concurrencyLimit: integer('concurrency_limit').notNull(),
  maxConcurrency: integer('max_concurrency').notNull(),
  rateLimited: integer('rate_limited').notNull().default(0),
  /** Time requests spent waiting for the endpoint's shared budget, summed. */
  budgetWaitMs: bigint('budget_wait_ms', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
