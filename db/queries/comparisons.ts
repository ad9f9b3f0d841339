/**
 * Comparisons as records: creating one launches a formal run per model in ONE transaction (each
 * through the launch of db/queries/runLaunch.ts, so each takes its quota slot and freezes its
 * configuration as a single launch does); any refusal rolls every launch back, so a comparison
 * starts all its models or none. Reading one gathers its runs and their dataset rows; its status
 * and progress are derived from them, never stored twice.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../client';
import { comparisonRuns, comparisons, evaluations, runDatasets, runs } from '../schema';
import type { ComparisonModelView, ComparisonView, Progress, RankingWeights } from '../../contracts/comparison';
import type { Domain } from '../../contracts/domain';
import type { RunStatus } from '../../contracts/run';
import { TERMINAL_STATUSES } from '../../contracts/run';
import type { Role } from '../../contracts/user';
import { CUSTOM_IMAGE_SCORER } from '../../contracts/scoringConfig';
import type { ModelScores } from '../../scoring/weightedRanking';
import { launchInTransaction, type LaunchedRunRecord, type LaunchOutcome, type LaunchRequest } from './runLaunch';
import { isUuid } from './runViews';
import { addSums, priced, usageSums, type UsageSums } from './runUsage';

export type ComparisonRow = typeof comparisons.$inferSelect;
type RunDatasetRow = typeof runDatasets.$inferSelect;

export interface ComparisonRequest {
  ownerId: string;
  name: string;
  domain: Domain;
  datasetIds: string[];
  weights: RankingWeights;
  /** One per model, in the order given; each a formal launch of a subset of its evaluation's datasets. */
  launches: LaunchRequest[];
  idempotency: { key: string; requestHash: string } | null;
}

type Refusal = Extract<LaunchOutcome, { ok: false }>;

export type ComparisonOutcome =
  | { ok: true; comparisonId: string; runs: LaunchedRunRecord[] }
  /** The Idempotency-Key already made this comparison: nothing new was done. */
  | { ok: true; replayed: true; comparisonId: string; runs: LaunchedRunRecord[] }
  | { ok: false; reason: 'idempotency-mismatch' }
  /** The launch of the model at `index` was refused; nothing was launched. */
  | { ok: false; reason: 'launch-refused'; index: number; refusal: Refusal };

/** Thrown inside the transaction to roll back the launches made before the refused one. */
class LaunchRefused extends Error {
  constructor(
    readonly index: number,
    readonly refusal: Refusal,
  ) {
    super(`launch ${index} refused: ${refusal.reason}`);
  }
}

export async function createComparison(db: Db, request: ComparisonRequest): Promise<ComparisonOutcome> {
  try {
    return await db.transaction(async (tx): Promise<ComparisonOutcome> => {
      const id = randomUUID();
      // With a key, a concurrent duplicate blocks on the unique index until this commits (then
      // finds it) or rolls back (then makes its own).
      const inserted = await tx
        .insert(comparisons)
        .values({
          id,
          ownerId: request.ownerId,
          name: request.name,
          domain: request.domain,
          datasetIds: request.datasetIds,
          weights: request.weights,
          idempotencyKey: request.idempotency?.key ?? null,
          requestHash: request.idempotency?.requestHash ?? null,
        })
        .onConflictDoNothing({ target: [comparisons.ownerId, comparisons.idempotencyKey] })
        .returning({ id: comparisons.id });
      if (inserted.length === 0) {
        const [existing] = await tx
          .select()
          .from(comparisons)
          .where(
            and(eq(comparisons.ownerId, request.ownerId), eq(comparisons.idempotencyKey, request.idempotency!.key)),
          );
        if (!existing || existing.requestHash !== request.idempotency!.requestHash)
          return { ok: false, reason: 'idempotency-mismatch' };
        return { ok: true, replayed: true, comparisonId: existing.id, runs: await launchedRuns(tx, existing.id) };
      }

      // Every evaluation is locked up front, in one order, before any quota row: a launch of one of
      // them elsewhere (evaluation, then quota) then waits here instead of deadlocking.
      const evaluationIds = request.launches.map((l) => l.evaluationId);
      await tx
        .select({ id: evaluations.id })
        .from(evaluations)
        .where(inArray(evaluations.id, evaluationIds))
        .orderBy(asc(evaluations.id))
        .for('update');

      const launched: LaunchedRunRecord[] = [];
      for (const [index, launch] of request.launches.entries()) {
        const outcome = await launchInTransaction(tx, launch);
        if (!outcome.ok) throw new LaunchRefused(index, outcome);
        launched.push(outcome.run);
      }
      await tx.insert(comparisonRuns).values(
        launched.map((run, position) => ({
          comparisonId: id,
          position,
          evaluationId: request.launches[position]!.evaluationId,
          runId: run.runId,
        })),
      );
      return { ok: true, comparisonId: id, runs: launched };
    });
  } catch (error) {
    if (error instanceof LaunchRefused)
      return { ok: false, reason: 'launch-refused', index: error.index, refusal: error.refusal };
    throw error;
  }
}

async function launchedRuns(tx: Db | Tx, comparisonId: string): Promise<LaunchedRunRecord[]> {
  const rows = await tx
    .select({ run: runs, domain: evaluations.domain, modelName: evaluations.modelName })
    .from(comparisonRuns)
    .innerJoin(runs, eq(runs.id, comparisonRuns.runId))
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(eq(comparisonRuns.comparisonId, comparisonId))
    .orderBy(asc(comparisonRuns.position));
  return rows.map(({ run, domain, modelName }) => ({
    runId: run.id,
    version: run.version,
    type: run.type,
    status: run.status,
    ownerId: run.ownerId,
    domain,
    modelName,
    datasets: run.config.datasets.map((d) => d.datasetId),
  }));
}

/** The comparison when the viewer owns it or is an admin; null otherwise, so others cannot tell it exists. */
export async function getComparisonFor(
  db: Db,
  viewer: { userId: string; role: Role },
  id: string,
): Promise<ComparisonRow | null> {
  if (!isUuid(id)) return null;
  const [row] = await db.select().from(comparisons).where(eq(comparisons.id, id));
  if (!row || (viewer.role !== 'admin' && row.ownerId !== viewer.userId)) return null;
  return row;
}

export interface ComparisonModel {
  position: number;
  evaluationId: string;
  modelName: string;
  run: typeof runs.$inferSelect;
  datasets: RunDatasetRow[];
  /** The model's tokens so far, by dataset. */
  usage: ReadonlyMap<string, UsageSums>;
}

/** Each model's run and its dataset rows, in the comparison's model and dataset order. */
export async function comparisonModels(db: Db, comparisonId: string): Promise<ComparisonModel[]> {
  return (await modelsOfComparisons(db, [comparisonId])).get(comparisonId) ?? [];
}

/** comparisonModels of several comparisons in two queries. */
export async function modelsOfComparisons(
  db: Db,
  comparisonIds: readonly string[],
): Promise<Map<string, ComparisonModel[]>> {
  const byComparison = new Map<string, ComparisonModel[]>();
  if (comparisonIds.length === 0) return byComparison;
  const rows = await db
    .select({
      comparisonId: comparisonRuns.comparisonId,
      position: comparisonRuns.position,
      evaluationId: comparisonRuns.evaluationId,
      modelName: evaluations.modelName,
      run: runs,
    })
    .from(comparisonRuns)
    .innerJoin(runs, eq(runs.id, comparisonRuns.runId))
    .innerJoin(evaluations, eq(evaluations.id, comparisonRuns.evaluationId))
    .where(inArray(comparisonRuns.comparisonId, [...comparisonIds]))
    .orderBy(asc(comparisonRuns.comparisonId), asc(comparisonRuns.position));
  if (rows.length === 0) return byComparison;
  const datasetRows = await db
    .select()
    .from(runDatasets)
    .where(
      inArray(
        runDatasets.runId,
        rows.map((r) => r.run.id),
      ),
    )
    .orderBy(asc(runDatasets.position));
  const usage = await usageSums(
    db,
    rows.map((r) => r.run.id),
  );
  const datasetsOf = new Map<string, RunDatasetRow[]>();
  for (const d of datasetRows) datasetsOf.set(d.runId, [...(datasetsOf.get(d.runId) ?? []), d]);
  for (const { comparisonId, ...model } of rows) {
    byComparison.set(comparisonId, [
      ...(byComparison.get(comparisonId) ?? []),
      { ...model, datasets: datasetsOf.get(model.run.id) ?? [], usage: usage.get(model.run.id) ?? new Map() },
    ]);
  }
  return byComparison;
}

/** The owner's latest comparisons, newest first. */
export async function listComparisons(db: Db, ownerId: string, limit: number): Promise<ComparisonRow[]> {
  return db
    .select()
    .from(comparisons)
    .where(eq(comparisons.ownerId, ownerId))
    .orderBy(desc(comparisons.createdAt), desc(comparisons.id))
    .limit(limit);
}

/**
 * The comparison's status from its runs': queued while all are queued, running while any has not
 * ended; once all have, stopped if it was stopped (or a run was), failed if every run failed, else
 * succeeded — a model whose run failed then ranks on zeros.
 */
export function comparisonStatus(
  row: Pick<ComparisonRow, 'stopRequestedAt'>,
  statuses: readonly RunStatus[],
): RunStatus {
  if (statuses.every((s) => s === 'queued')) return 'queued';
  if (statuses.some((s) => !TERMINAL_STATUSES.includes(s))) return 'running';
  if (row.stopRequestedAt || statuses.includes('stopped')) return 'stopped';
  if (statuses.every((s) => s === 'failed')) return 'failed';
  return 'succeeded';
}

export function progressOf(done: number, total: number): Progress {
  const fraction = total === 0 ? 0 : Math.min(1, done / total);
  return { done, total, fraction, percent: Math.floor(fraction * 1000) / 10 };
}

export function toComparisonView(row: ComparisonRow, models: readonly ComparisonModel[]): ComparisonView {
  const views: ComparisonModelView[] = models.map((m) => ({
    position: m.position,
    evaluationId: m.evaluationId,
    modelName: m.modelName,
    runId: m.run.id,
    version: m.run.version,
    status: m.run.status,
    progress: progressOf(sum(m.datasets, 'done'), sum(m.datasets, 'total')),
    usage: priced(addSums(m.usage.values()), m.run.config.prices),
  }));
  // Every model runs the same entries, so models × entries is the sum of the runs' totals.
  return {
    comparisonId: row.id,
    name: row.name,
    domain: row.domain,
    datasets: row.datasetIds,
    status: comparisonStatus(
      row,
      models.map((m) => m.run.status),
    ),
    createdAt: row.createdAt.toISOString(),
    stopRequestedAt: row.stopRequestedAt?.toISOString() ?? null,
    progress: progressOf(
      sum(
        views.map((v) => v.progress),
        'done',
      ),
      sum(
        views.map((v) => v.progress),
        'total',
      ),
    ),
    models: views,
    weights: row.weights,
  };
}

/** What the ranking reads of each model: the stored score of every dataset that succeeded, and the metric that scored it. */
export function toModelScores(models: readonly ComparisonModel[]): ModelScores[] {
  return models.map((m) => ({
    position: m.position,
    evaluationId: m.evaluationId,
    modelName: m.modelName,
    runId: m.run.id,
    status: m.run.status,
    datasets: m.datasets.map((d) => {
      const plan = m.run.config.datasets.find((p) => p.datasetId === d.datasetId);
      return {
        dataset: d.datasetId,
        task: d.task,
        metric:
          d.metrics?.metric ??
          (m.run.config.scoring?.customImage ? CUSTOM_IMAGE_SCORER : undefined) ??
          m.run.config.scoring?.datasets[d.datasetId]?.metric ??
          plan?.metric ??
          'exact_match',
        status: d.status,
        score: d.status === 'succeeded' && d.metrics ? d.metrics.score : null,
        ...(d.metrics?.custom ? { customMetrics: d.metrics.custom.metrics } : {}),
      };
    }),
  }));
}

export async function setComparisonWeights(db: Db, id: string, weights: RankingWeights): Promise<void> {
  await db.update(comparisons).set({ weights }).where(eq(comparisons.id, id));
}

/** Records the first stop request; asking again keeps the first time. */
export async function requestComparisonStop(db: Db, id: string): Promise<Date> {
  const [row] = await db
    .update(comparisons)
    .set({ stopRequestedAt: sql`coalesce(${comparisons.stopRequestedAt}, now())` })
    .where(eq(comparisons.id, id))
    .returning({ stopRequestedAt: comparisons.stopRequestedAt });
  return row!.stopRequestedAt!;
}

function sum<K extends string>(rows: readonly Record<K, number>[], key: K): number {
  return rows.reduce((n, r) => n + r[key], 0);
}
