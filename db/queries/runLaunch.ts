/**
 * Launching a run, as records: one transaction locks the evaluation, hands out the next version,
 * takes a quota slot when the run is formal, freezes the run's configuration and writes the run and
 * its dataset rows (queued). What the run workflow's beginRun then finds is exactly this. A private
 * run also freezes its serving plan (image, upload version, GPUs), checked by the caller beforehand.
 * If the workflow cannot be started afterwards, abandonLaunch undoes the launch's effects.
 */
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../client';
import { evaluations, runDatasets, runLogs, runs } from '../schema';
import type {
  FrozenSampleLimit,
  RunConfig,
  RunDatasetPlan,
  RunStatus,
  RunType,
  ServingPlan,
} from '../../contracts/run';
import type { Domain } from '../../contracts/domain';
import { DEFAULT_INFERENCE, DEFAULT_LIMITS } from '../../contracts/evaluation';
import { consumeQuota, releaseQuota, type QuotaKind } from './quota';
import { freezeScoring } from './scoringConfig';
import { recordReuseFingerprints } from './reuse';
import {
  claimIdempotencyKey,
  forgetIdempotencyKey,
  forgetKeysOfRun,
  recordIdempotentRun,
  type IdempotentRequest,
} from './idempotency';

export type EvaluationRow = typeof evaluations.$inferSelect;

/** One dataset as the launch will run it: the frozen plan plus how many samples it covers. */
export interface PlannedDataset extends RunDatasetPlan {
  total: number;
}

export interface QuotaCharge {
  userId: string;
  kind: QuotaKind;
  month: string;
  limit: number;
}

export interface LaunchRequest {
  evaluationId: string;
  submitterId: string;
  type: RunType;
  /** In the evaluation's dataset order, resolved before the transaction. */
  datasets: PlannedDataset[];
  sampleSeed: number | null;
  quota: QuotaCharge | null;
  /** For a private deployment: the plan the caller checked; null for an API deployment. */
  serving: ServingPlan | null;
  /** The request's Idempotency-Key, when it sent one. */
  idempotency?: IdempotentRequest | null;
  /**
   * Formal runs: whether a dataset may reuse an earlier identical result (db/queries/reuse.ts);
   * false when the launch asked for a fresh run. Verifications neither reuse nor are reused.
   */
  reuse?: boolean;
  /** The datasets are a chosen part of the evaluation's (a comparison's run): each must still be one of them. */
  datasetSubset?: boolean;
  /** A partial formal run's limit (its datasets' sampleIndices hold what it takes). */
  limit?: FrozenSampleLimit;
  /** An inference-only formal run: answers stored, not scored, no robustness pass. */
  inferenceOnly?: true;
}

export interface LaunchedRunRecord {
  runId: string;
  version: number;
  type: RunType;
  status: RunStatus;
  ownerId: string;
  domain: Domain;
  modelName: string;
  datasets: string[];
}

export type LaunchOutcome =
  | { ok: true; run: LaunchedRunRecord }
  | { ok: false; reason: 'quota-exhausted'; used: number; charge: QuotaCharge }
  /** The evaluation changed between the caller's checks and the lock (datasets or deployment). */
  | { ok: false; reason: 'evaluation-changed'; detail: string }
  | { ok: false; reason: 'evaluation-missing' }
  /** The Idempotency-Key already launched this run: nothing new was done. */
  | { ok: true; replayed: true; run: LaunchedRunRecord }
  | { ok: false; reason: 'idempotency-mismatch' };

/** The configuration a run keeps for its whole life, whatever later edits do to the evaluation. */
export function freezeRunConfig(
  evaluation: EvaluationRow,
  datasets: readonly PlannedDataset[],
  sampleSeed: number | null,
  serving: ServingPlan | null = null,
): RunConfig {
  const deployment = evaluation.deployment;
  if (deployment.method === 'private' && !serving)
    throw new Error(`evaluation ${evaluation.id} is deployed privately but no serving plan was given`);
  if (deployment.method !== 'private' && serving)
    throw new Error(`evaluation ${evaluation.id} has a ${deployment.method} deployment; it takes no serving plan`);
  if (deployment.method === 'predictions' && datasets.some((d) => !d.predictionSetId)) {
    throw new Error(`evaluation ${evaluation.id} is evaluation-only but a dataset has no prediction set`);
  }
  return {
    domain: evaluation.domain,
    modelName: evaluation.modelName,
    // A private run's endpoint is its container's, known only once the container answers.
    endpoint: deployment.method === 'api' ? deployment.endpoint : '',
    onlineModelName: deployment.method === 'api' ? (deployment.onlineModelName ?? null) : null,
    // The model service's /func takes a prompt and answers completions.
    apiMode: deployment.method === 'api' ? (deployment.apiMode ?? 'chat') : 'completion',
    // Defaults are written out, so the run reads the same whatever later releases change them to.
    inference: { ...DEFAULT_INFERENCE, ...evaluation.inference },
    limits: { ...DEFAULT_LIMITS, ...evaluation.limits },
    datasets: datasets.map(({ datasetId, task, metric, contentHash, sampleIndices, predictionSetId, fromImage }) => ({
      datasetId,
      task,
      metric,
      contentHash,
      sampleIndices,
      ...(predictionSetId ? { predictionSetId } : {}),
      ...(fromImage ? { fromImage } : {}),
    })),
    sampleSeed,
    // The prices the run's cost is computed with, whatever later edits set.
    ...(deployment.method === 'api' && deployment.prices ? { prices: deployment.prices } : {}),
    // Frozen like the rest: a later edit of the evaluation does not add or drop a pass mid-run.
    robustness: evaluation.robustness,
    ...(serving ? { serving } : {}),
    ...(evaluation.backboneTasks ? { backbone: { tasks: evaluation.backboneTasks } } : {}),
  };
}

export async function insertLaunchedRun(db: Db, request: LaunchRequest): Promise<LaunchOutcome> {
  return db.transaction(async (tx): Promise<LaunchOutcome> => {
    const idempotency = request.idempotency ?? null;
    if (idempotency) {
      const claim = await claimIdempotencyKey(tx, idempotency);
      if (claim.state === 'mismatch') return { ok: false, reason: 'idempotency-mismatch' };
      if (claim.state === 'done') return { ok: true, replayed: true, run: await launchedRecord(tx, claim.runId) };
    }
    const outcome = await launchInTransaction(tx, request);
    if (idempotency) {
      if (outcome.ok) await recordIdempotentRun(tx, idempotency, outcome.run.runId);
      else await forgetIdempotencyKey(tx, idempotency);
    }
    return outcome;
  });
}

/** Where a paged sweep of queued runs left off: the last run it looked at. */
export interface QueuedRunCursor {
  /** As PostgreSQL prints it: microseconds, which a Date would cut to milliseconds. */
  createdAt: string;
  runId: string;
}

/**
 * Runs still queued that were launched between `since` and `before`, oldest first, after `after` when given:
 * their workflow should have started long ago, so either it waits for a run worker or the API died
 * between the launch's commit and the start (the launch reconciler tells the two apart by starting it).
 */
export async function queuedRunsLaunchedBetween(
  db: Db,
  since: Date,
  before: Date,
  limit: number,
  after?: QueuedRunCursor,
): Promise<{ run: LaunchedRunRecord; cursor: QueuedRunCursor }[]> {
  const rows = await db
    .select({
      run: runs,
      domain: evaluations.domain,
      modelName: evaluations.modelName,
      createdAt: sql<string>`${runs.createdAt}::text`,
    })
    .from(runs)
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(
      and(
        eq(runs.status, 'queued'),
        lt(runs.createdAt, before),
        gt(runs.createdAt, since),
        after
          ? sql`(${runs.createdAt}, ${runs.id}) > (${after.createdAt}::timestamptz, ${after.runId}::uuid)`
          : undefined,
      ),
    )
    .orderBy(asc(runs.createdAt), asc(runs.id))
    .limit(limit);
  return rows.map((row) => ({ run: recordOf(row), cursor: { createdAt: row.createdAt, runId: row.run.id } }));
}

function recordOf(row: { run: typeof runs.$inferSelect; domain: Domain; modelName: string }): LaunchedRunRecord {
  const { run } = row;
  return {
    runId: run.id,
    version: run.version,
    type: run.type,
    status: run.status,
    ownerId: run.ownerId,
    domain: row.domain,
    modelName: row.modelName,
    datasets: run.config.datasets.map((d) => d.datasetId),
  };
}

async function launchedRecord(tx: Tx, runId: string): Promise<LaunchedRunRecord> {
  const [row] = await tx
    .select({ run: runs, domain: evaluations.domain, modelName: evaluations.modelName })
    .from(runs)
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(eq(runs.id, runId));
  if (!row) throw new Error(`idempotency key points at run ${runId}, which does not exist`);
  return recordOf(row);
}

/** The launch's records inside the caller's transaction; a refusal writes nothing but may leave the evaluation locked until it ends. */
export async function launchInTransaction(tx: Tx, request: LaunchRequest): Promise<LaunchOutcome> {
  {
    // The row lock serialises launches of one evaluation, so versions are handed out gap-free
    // and the configuration frozen is the one committed when the version was taken.
    const [evaluation] = await tx
      .select()
      .from(evaluations)
      .where(eq(evaluations.id, request.evaluationId))
      .for('update');
    // A deleted evaluation takes no new run, even one whose launch checked it before the delete committed.
    if (!evaluation || evaluation.deletedAt) return { ok: false, reason: 'evaluation-missing' };

    const planned = request.datasets.map((d) => d.datasetId);
    const datasetsAsPlanned = request.datasetSubset
      ? planned.every((id) => evaluation.datasetIds.includes(id))
      : evaluation.datasetIds.join('\n') === planned.join('\n');
    if (!datasetsAsPlanned) {
      return {
        ok: false,
        reason: 'evaluation-changed',
        detail: "the evaluation's datasets changed while the run was being launched; launch it again",
      };
    }
    if (!deploymentAsPlanned(evaluation, request.serving)) {
      return {
        ok: false,
        reason: 'evaluation-changed',
        detail: "the evaluation's deployment changed while the run was being launched; launch it again",
      };
    }

    if (request.quota) {
      const { userId, kind, month, limit } = request.quota;
      if (!(await consumeQuota(tx, userId, kind, month, limit))) {
        const rows = await tx.execute<{ used: number }>(
          sql`select used from quota_usage where user_id = ${userId}::uuid and month = ${month} and kind = ${kind}`,
        );
        return { ok: false, reason: 'quota-exhausted', used: rows[0]?.used ?? 0, charge: request.quota };
      }
    }

    const version = evaluation.runCounter + 1;
    await tx.update(evaluations).set({ runCounter: version }).where(eq(evaluations.id, evaluation.id));
    const runId = randomUUID();
    const config = await withFrozenScoring(
      tx,
      {
        ...freezeRunConfig(evaluation, request.datasets, request.sampleSeed, request.serving),
        ...(request.limit ? { limit: request.limit } : {}),
        ...(request.quota ? { quotaMonth: request.quota.month } : {}),
        // Nothing is scored, so there is no robustness to measure: no perturbed pass either.
        ...(request.inferenceOnly ? { inferenceOnly: true as const, robustness: false } : {}),
      },
      evaluation.id,
    );
    await tx.insert(runs).values({
      id: runId,
      evaluationId: evaluation.id,
      ownerId: evaluation.ownerId,
      submitterId: request.submitterId,
      version,
      type: request.type,
      status: 'queued',
      config,
      apiKeyCipher: evaluation.deployment.method === 'api' ? evaluation.apiKeyCipher : null,
    });
    await tx.insert(runDatasets).values(
      request.datasets.map((d, position) => ({
        runId,
        datasetId: d.datasetId,
        position,
        task: d.task,
        status: 'queued' as const,
        total: d.total,
      })),
    );
    // A custom image's job is run afresh every time: it stores no samples to copy, and its image may
    // bring a benchmark whose content no fingerprint can see.
    if (request.type === 'formal' && !config.scoring?.customImage)
      await recordReuseFingerprints(tx, runId, evaluation.id, config, request.reuse !== false);
    return {
      ok: true,
      run: {
        runId,
        version,
        type: request.type,
        status: 'queued',
        ownerId: evaluation.ownerId,
        domain: evaluation.domain,
        modelName: evaluation.modelName,
        datasets: config.datasets.map((d) => d.datasetId),
      },
    };
  }
}

/** The evaluation's scoring configuration as it stands under the launch's lock (judge keys by id, never in clear). */
async function withFrozenScoring(tx: Tx, config: RunConfig, evaluationId: string): Promise<RunConfig> {
  const scoring = await freezeScoring(
    tx,
    evaluationId,
    config.datasets.map((d) => d.datasetId),
  );
  return scoring ? { ...config, scoring } : config;
}

/** The locked evaluation still has the deployment the caller planned the run for. */
function deploymentAsPlanned(evaluation: EvaluationRow, serving: ServingPlan | null): boolean {
  const deployment = evaluation.deployment;
  if (deployment.method !== 'private') return serving === null;
  return (
    serving !== null &&
    deployment.imageId === serving.imageId &&
    deployment.gpuType === serving.gpuType &&
    deployment.gpuCount === serving.gpuCount &&
    deployment.priority === serving.priority
  );
}

/**
 * The workflow of a launched run could not be started: the run ends as failed with the reason,
 * its datasets with it, and the quota slot it took is given back. Guarded by the queued status,
 * so it acts once, and never on a run a workflow did pick up after all.
 */
export async function abandonLaunch(
  db: Db,
  runId: string,
  reason: string,
  quota: QuotaCharge | null,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const ended = await tx
      .update(runs)
      .set({ status: 'failed', error: reason, endedAt: sql`now()` })
      .where(and(eq(runs.id, runId), eq(runs.status, 'queued')))
      .returning({ id: runs.id });
    if (ended.length === 0) return false;
    await tx
      .update(runDatasets)
      .set({ status: 'failed', error: reason, endedAt: sql`now()` })
      .where(eq(runDatasets.runId, runId));
    await tx
      .insert(runLogs)
      .values({ runId, level: 'error', message: `run could not be started: ${reason}`, dedupeKey: 'launch-failed' })
      .onConflictDoNothing();
    if (quota) await releaseQuota(tx, quota.userId, quota.kind, quota.month);
    await forgetKeysOfRun(tx, runId);
    return true;
  });
}
