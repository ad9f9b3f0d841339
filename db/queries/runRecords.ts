/**
 * The run aggregate as the workflow's activities move it: statuses, timestamps, per-dataset
 * metrics and the run's final scores. Every transition is guarded by the current status, so a
 * retried activity repeats nothing and a late write never resurrects an ended run.
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { runDatasets, runs, evaluations } from '../schema';
import { TERMINAL_STATUSES, type DatasetMetrics, type RunStatus } from '../../contracts/run';
import { appendRunLogs } from './runLogs';
import { datasetInterval, intervalSeed, overallScore, taskScores } from '../../scoring/scoreAggregation';

export class RunNotFound extends Error {
  override name = 'RunNotFound';
}

export async function getRun(db: Db | Tx, runId: string) {
  const [run] = await db.select().from(runs).where(eq(runs.id, runId));
  if (!run) throw new RunNotFound(`run ${runId} does not exist`);
  return run;
}

/** Whether the run exists and has not ended; a run unknown to this database is not active. */
export async function isRunActive(db: Db, runId: string): Promise<boolean> {
  const [run] = await db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
  return run !== undefined && !TERMINAL_STATUSES.includes(run.status);
}

/**
 * Whether what a container host keeps of a run (its jobs' inputs and outputs) may go: the run has
 * ended at least `retentionMs` ago, or this database does not know it (its rows were deleted).
 */
export async function runFilesExpired(db: Db, runId: string, now: Date, retentionMs: number): Promise<boolean> {
  const [run] = await db
    .select({ status: runs.status, endedAt: runs.endedAt, createdAt: runs.createdAt })
    .from(runs)
    .where(eq(runs.id, runId));
  if (!run) return true;
  if (!TERMINAL_STATUSES.includes(run.status)) return false;
  // A run that ended without an end time (stopped before it started) counts from its creation.
  return now.getTime() - (run.endedAt ?? run.createdAt).getTime() >= retentionMs;
}

export async function getRunWithEvaluation(db: Db, runId: string) {
  const [row] = await db
    .select({ run: runs, modelName: evaluations.modelName })
    .from(runs)
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(eq(runs.id, runId));
  if (!row) throw new RunNotFound(`run ${runId} does not exist`);
  return row;
}

export async function listRunDatasets(db: Db | Tx, runId: string) {
  const rows = await db.select().from(runDatasets).where(eq(runDatasets.runId, runId)).orderBy(runDatasets.position);
  return rows.map(withCurrentMetrics);
}

export async function getRunDataset(db: Db, runId: string, datasetId: string) {
  const [row] = await db
    .select()
    .from(runDatasets)
    .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId)));
  if (!row) throw new RunNotFound(`run ${runId} has no dataset ${datasetId}`);
  return withCurrentMetrics(row);
}

/** Metrics stored before datasets had intervals read as having none, rather than lacking the fields. */
function withCurrentMetrics<T extends { metrics: DatasetMetrics | null }>(row: T): T {
  if (!row.metrics) return row;
  return {
    ...row,
    metrics: { ...row.metrics, ci95: row.metrics.ci95 ?? null, standardError: row.metrics.standardError ?? null },
  };
}

/** queued → running; returns the run as it now stands (a run stopped before it began stays stopped). */
export async function markRunRunning(db: Db, runId: string) {
  await db
    .update(runs)
    .set({ status: 'running', startedAt: sql`coalesce(${runs.startedAt}, now())` })
    .where(and(eq(runs.id, runId), eq(runs.status, 'queued')));
  return getRun(db, runId);
}

export async function markDatasetRunning(db: Db, runId: string, datasetId: string) {
  await db
    .update(runDatasets)
    .set({ status: 'running', startedAt: sql`coalesce(${runDatasets.startedAt}, now())` })
    .where(
      and(
        eq(runDatasets.runId, runId),
        eq(runDatasets.datasetId, datasetId),
        inArray(runDatasets.status, ['queued', 'running']),
      ),
    );
  return getRunDataset(db, runId, datasetId);
}

/**
 * Metrics over what is stored: failed samples score 0, output length averages scored samples, and
 * the score's interval comes from the bootstrap seeded by the run and dataset ids. Both reads see
 * one snapshot, so the interval is over exactly the samples the counts describe; the scores come
 * in sample order, because the same seed over the same scores in another order would draw another
 * interval and a retried activity must store the same one.
 */
export async function computeDatasetMetrics(
  db: Db,
  runId: string,
  datasetId: string,
  metric: DatasetMetrics['metric'],
): Promise<DatasetMetrics> {
  const { r, scores } = await db.transaction(
    async (tx) => {
      const rows = await tx.execute<{
        stored: string;
        scored: string;
        failed: string;
        score_sum: string | null;
        avg_len: string | null;
      }>(sql`
        select count(*) as stored,
               count(*) filter (where status = 'scored') as scored,
               count(*) filter (where status = 'failed') as failed,
               sum(coalesce(score, 0)) as score_sum,
               avg(output_length) filter (where status = 'scored') as avg_len
          from sample_results
         where run_id = ${runId} and dataset_id = ${datasetId}`);
      return { r: rows[0]!, scores: await sampleScores(tx, runId, datasetId) };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  const stored = Number(r.stored);
  return {
    metric,
    score: stored === 0 ? 0 : Number(r.score_sum ?? 0) / stored,
    scored: Number(r.scored),
    failed: Number(r.failed),
    avgOutputLength: r.avg_len === null ? 0 : Number(r.avg_len),
    ...datasetInterval(scores, intervalSeed(runId, datasetId)),
  };
}

/** Every sample's score (failed as 0) in sample order, as one array: one row crosses the wire, not one per sample. */
async function sampleScores(db: Db | Tx, runId: string, datasetId: string): Promise<number[]> {
  const rows = await db.execute<{ scores: number[] | null }>(sql`
    select array_agg(coalesce(score, 0) order by sample_idx) as scores
      from sample_results
     where run_id = ${runId} and dataset_id = ${datasetId}`);
  return rows[0]?.scores ?? [];
}

/** Closes a dataset once: a dataset that already ended keeps its first outcome. */
export async function closeDataset(
  db: Db,
  runId: string,
  datasetId: string,
  status: Extract<RunStatus, 'succeeded' | 'failed' | 'stopped'>,
  /** Null for an inference-only run's dataset, which is not scored. */
  metrics: DatasetMetrics | null,
  error: string | null,
) {
  await db
    .update(runDatasets)
    .set({ status, metrics, error, endedAt: sql`now()`, startedAt: sql`coalesce(${runDatasets.startedAt}, now())` })
    .where(
      and(
        eq(runDatasets.runId, runId),
        eq(runDatasets.datasetId, datasetId),
        inArray(runDatasets.status, ['queued', 'running']),
      ),
    );
  return getRunDataset(db, runId, datasetId);
}

/** Datasets the run never reached end with the run (stopped, or failed with the run's reason). */
export async function closeUnfinishedDatasets(
  db: Db | Tx,
  runId: string,
  status: 'stopped' | 'failed',
  error: string | null,
) {
  await db
    .update(runDatasets)
    .set({ status, error, endedAt: sql`now()` })
    .where(and(eq(runDatasets.runId, runId), inArray(runDatasets.status, ['queued', 'running'])));
}

export async function closeRun(
  db: Db | Tx,
  runId: string,
  status: Extract<RunStatus, 'succeeded' | 'failed' | 'stopped'>,
  error: string | null,
) {
  const datasetRows = await listRunDatasets(db, runId);
  const tasks = taskScores(datasetRows);
  await db
    .update(runs)
    .set({
      status,
      error,
      taskScores: tasks,
      overallScore: overallScore(tasks),
      endedAt: sql`coalesce(${runs.endedAt}, now())`,
    })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])));
  return getRun(db, runId);
}

/**
 * A stop reached a run with no workflow to tell: its start failed or has not happened yet. The run
 * and its unfinished datasets end stopped here, in one transaction; a workflow that starts after
 * all finds the run ended and does nothing.
 */
export async function closeRunStoppedBeforeStart(db: Db, runId: string, requestedBy: string): Promise<void> {
  const message = `stopped by ${requestedBy} before it started`;
  await db.transaction(async (tx) => {
    await closeUnfinishedDatasets(tx, runId, 'stopped', null);
    await closeRun(tx, runId, 'stopped', message);
    await appendRunLogs(tx, [{ runId, level: 'info', message: `run ${message}`, dedupeKey: 'run-end' }]);
  });
}

export async function isStopRequested(db: Db, runId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: runs.id })
    .from(runs)
    .where(and(eq(runs.id, runId), isNull(runs.stopRequestedAt)));
  return !row;
}

/**
 * Metrics stored on a running dataset by the job that produced them: a custom image's (with its
 * one unit of progress done), or a multimodal job's breakdown, kept for finishDataset (its sample
 * rows are stored already). Only a running dataset takes them, so a retried job that ran again
 * cannot overwrite a closed result.
 */
export async function recordRunningDatasetMetrics(
  db: Db,
  runId: string,
  datasetId: string,
  values: { metrics: DatasetMetrics; done?: number; failed?: number },
): Promise<boolean> {
  const updated = await db
    .update(runDatasets)
    .set(values)
    .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId), eq(runDatasets.status, 'running')))
    .returning({ datasetId: runDatasets.datasetId });
  return updated.length > 0;
}
