/**
 * Runs as their owners read them: the run with its progress and scores, the versions of an
 * evaluation, per-sample results in keyset pages, log lines, and the stored report; and the one
 * thing an owner writes on a run, a stop request. The workflow's activities are what move the rest.
 */
import { and, asc, desc, eq, gt, ilike, inArray, sql } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from './evaluations';
import type { Domain } from '../../contracts/domain';
import { reuseSourcesOfRun, type ReuseSource } from './reuse';
import { runQuotaRefunded } from './quota';
import type { Db } from '../client';
import {
  datasetItems,
  evaluations,
  leaderboardSubmissions,
  manualReviews,
  runDatasets,
  runLogs,
  runs,
  sampleResults,
  users,
} from '../schema';
import type {
  DatasetRunView,
  LogPage,
  RunLeaderboardState,
  RunMode,
  RunReviewState,
  RunStatus,
  RunSummary,
  RunType,
  RunVersion,
  RunView,
  SampleResultView,
  SampleStatus,
} from '../../contracts/run';
import { runModeOf, TERMINAL_STATUSES } from '../../contracts/run';
import type { Role } from '../../contracts/user';
import { overallInterval, taskScores } from '../../scoring/scoreAggregation';
import { listRunDatasets } from './runRecords';
import { readRunTraffic } from './runTraffic';
import { addSums, judgePrices, judgeUsageOf, priced, totalJudgeUsage, usageSums, type UsageSums } from './runUsage';
import { modelChangeWarnings } from './modelIdentities';

export type RunRow = typeof runs.$inferSelect;
type RunDatasetRow = typeof runDatasets.$inferSelect;

export interface RunViewer {
  userId: string;
  role: Role;
}

export interface OwnedRun {
  run: RunRow;
  modelName: string;
  submitter: string;
  /** Set when the run's evaluation was deleted: the run stays readable but takes nothing new. */
  evaluationDeletedAt?: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The run when the viewer owns it or is an admin; null otherwise, so others cannot tell it exists. */
export async function getRunFor(db: Db, viewer: RunViewer, runId: string): Promise<OwnedRun | null> {
  if (!isUuid(runId)) return null;
  const [row] = await db
    .select({
      run: runs,
      modelName: evaluations.modelName,
      submitter: users.name,
      evaluationDeletedAt: evaluations.deletedAt,
    })
    .from(runs)
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .innerJoin(users, eq(users.id, runs.submitterId))
    .where(eq(runs.id, runId));
  if (!row || (viewer.role !== 'admin' && row.run.ownerId !== viewer.userId)) return null;
  return row;
}

export function toDatasetRunView(
  d: RunDatasetRow,
  reusedFrom: ReuseSource | null,
  now: Date,
  usage: Pick<DatasetRunView, 'usage' | 'judgeUsage'>,
): DatasetRunView {
  return {
    task: d.task,
    dataset: d.datasetId,
    position: d.position,
    status: d.status,
    startedAt: iso(d.startedAt),
    endedAt: iso(d.endedAt),
    total: d.total,
    done: d.done,
    failed: d.failed,
    metrics: d.metrics ?? null,
    error: d.error,
    reusedFrom,
    etaSeconds: estimateSecondsLeft(d, d.done, d.total, now),
    ...usage,
  };
}

/**
 * Seconds left at the rate samples were stored since the run (or dataset) started; null until
 * there is a rate, and when it is not running.
 */
export function estimateSecondsLeft(
  run: Pick<RunRow, 'status' | 'startedAt'>,
  done: number,
  total: number,
  now: Date,
): number | null {
  if (run.status !== 'running' || !run.startedAt) return null;
  if (done >= total) return 0;
  const elapsedSeconds = (now.getTime() - run.startedAt.getTime()) / 1000;
  if (done === 0 || elapsedSeconds <= 0) return null;
  return Math.ceil((total - done) / (done / elapsedSeconds));
}

/**
 * Where the run stands on manual review and on the leaderboard: one query, both tables keyed by the
 * run (one row each at most), since the run view is polled often.
 */
async function runGates(
  db: Db,
  runId: string,
): Promise<{ review: RunReviewState | null; leaderboard: RunLeaderboardState | null }> {
  const [row] = await db
    .select({
      reviewId: manualReviews.id,
      reviewStatus: manualReviews.status,
      reviewDatasets: manualReviews.datasetIds,
      launchDeadline: manualReviews.launchDeadline,
      launchedAt: manualReviews.launchedAt,
      reviewEndedAt: manualReviews.endedAt,
      reviewNote: manualReviews.note,
      publicationStatus: leaderboardSubmissions.status,
      closesAt: leaderboardSubmissions.closesAt,
      mode: leaderboardSubmissions.mode,
      submittedAt: leaderboardSubmissions.submittedAt,
    })
    .from(runs)
    .leftJoin(manualReviews, eq(manualReviews.runId, runs.id))
    .leftJoin(leaderboardSubmissions, eq(leaderboardSubmissions.runId, runs.id))
    .where(eq(runs.id, runId));
  return {
    review:
      row?.reviewId && row.reviewStatus
        ? {
            reviewId: row.reviewId,
            status: row.reviewStatus,
            datasets: row.reviewDatasets ?? [],
            launchDeadline: iso(row.launchDeadline),
            launchedAt: iso(row.launchedAt),
            endedAt: iso(row.reviewEndedAt),
            note: row.reviewNote,
          }
        : null,
    leaderboard:
      row?.publicationStatus && row.closesAt
        ? {
            status: row.publicationStatus,
            closesAt: row.closesAt.toISOString(),
            mode: row.mode ?? null,
            submittedAt: iso(row.submittedAt),
          }
        : null,
  };
}

export async function loadRunView(db: Db, owned: OwnedRun, now: Date): Promise<RunView> {
  const { run, submitter } = owned;
  const [datasets, gates, reused, quotaRefunded, traffic, sums, warnings] = await Promise.all([
    listRunDatasets(db, run.id),
    runGates(db, run.id),
    reuseSourcesOfRun(db, run.id),
    runQuotaRefunded(db, run.id),
    readRunTraffic(db, run.id),
    usageSums(db, [run.id]).then((byRun) => byRun.get(run.id) ?? new Map<string, UsageSums>()),
    modelChangeWarnings(db, run.id),
  ]);
  const prices = run.config.prices ?? null;
  const judged = datasets.map((d) => judgeUsageOf(d, judgePrices(run.config, d.datasetId)));
  const done = datasets.reduce((n, d) => n + d.done, 0);
  const total = datasets.reduce((n, d) => n + d.total, 0);
  // Task scores count finished datasets only, so they show while later datasets still run; the
  // overall score is the run's own, set when it ends.
  const tasks = taskScores(datasets);
  const ended = TERMINAL_STATUSES.includes(run.status);
  return {
    runId: run.id,
    evaluationId: run.evaluationId,
    version: run.version,
    type: run.type,
    status: run.status,
    submitter,
    partial: run.config.limit ?? null,
    mode: runModeOf(run.config),
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
    error: run.error,
    progress: {
      done,
      total,
      percent: total === 0 ? 0 : Math.floor((done / total) * 1000) / 10,
      etaSeconds: estimateSecondsLeft(run, done, total, now),
      traffic: traffic && {
        concurrencyLimit: traffic.concurrencyLimit,
        maxConcurrency: traffic.maxConcurrency,
        rateLimited: traffic.rateLimited,
        budgetWaitSeconds: Math.round(traffic.budgetWaitMs / 100) / 10,
        updatedAt: traffic.updatedAt.toISOString(),
      },
    },
    datasets: datasets.map((d, i) =>
      toDatasetRunView(d, reused.get(d.datasetId) ?? null, now, {
        usage: priced(sums.get(d.datasetId), prices),
        judgeUsage: judged[i]!,
      }),
    ),
    taskScores: tasks,
    overallScore: ended ? run.overallScore : null,
    overallCi95: ended ? overallInterval(tasks) : null,
    sampleSeed: run.config.sampleSeed,
    review: gates.review,
    leaderboard: gates.leaderboard,
    quotaRefunded,
    usage: priced(addSums(sums.values()), prices),
    judgeUsage: totalJudgeUsage(judged),
    warnings,
  };
}

export async function listRunVersions(db: Db, evaluationId: string): Promise<RunVersion[]> {
  const rows = await db
    .select({ run: runs, submitter: users.name })
    .from(runs)
    .innerJoin(users, eq(users.id, runs.submitterId))
    .where(eq(runs.evaluationId, evaluationId))
    .orderBy(desc(runs.version));
  return rows.map(({ run, submitter }) => ({
    runId: run.id,
    version: run.version,
    type: run.type,
    status: run.status,
    submitter,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
    overallScore: run.overallScore,
    mode: runModeOf(run.config),
  }));
}

/** Where a page of results ends: the dataset's place in the run and the sample's place in its plan. */
export interface ResultCursor {
  datasetPosition: number;
  samplePosition: number;
}

export function encodeResultCursor(c: ResultCursor): string {
  return Buffer.from(`${c.datasetPosition}:${c.samplePosition}`).toString('base64url');
}

/** Null for anything that is not a cursor this API handed out. */
export function decodeResultCursor(raw: string): ResultCursor | null {
  const match = /^(\d{1,9}):(\d{1,9})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  return match ? { datasetPosition: Number(match[1]), samplePosition: Number(match[2]) } : null;
}

export interface ResultQuery {
  datasetId?: string;
  status?: SampleStatus;
  limit: number;
  after?: ResultCursor | null;
}

/**
 * One page of results in run order. Each dataset is read through the (run, dataset, position)
 * index from where the cursor left it, so a page costs the same at the end of a large run as at
 * its start.
 */
export async function resultsPage(db: Db, runId: string, datasets: readonly RunDatasetRow[], q: ResultQuery) {
  const items: (SampleResultView & ResultCursor)[] = [];
  const after = q.after ?? { datasetPosition: -1, samplePosition: -1 };
  for (const d of datasets) {
    if ((q.datasetId && d.datasetId !== q.datasetId) || d.position < after.datasetPosition) continue;
    const from = d.position === after.datasetPosition ? after.samplePosition : -1;
    items.push(...(await datasetResults(db, runId, d, from, q.limit + 1 - items.length, q.status)));
    if (items.length > q.limit) break;
  }
  const more = items.length > q.limit;
  const page = items.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(({ datasetPosition: _d, samplePosition: _s, ...view }) => view),
    nextCursor: more && last ? encodeResultCursor(last) : null,
  };
}

async function datasetResults(
  db: Db,
  runId: string,
  d: RunDatasetRow,
  afterPosition: number,
  limit: number,
  status?: SampleStatus,
) {
  const rows = await db
    .select({
      position: sampleResults.position,
      sampleIdx: sampleResults.sampleIdx,
      itemId: datasetItems.itemId,
      prompt: datasetItems.prompt,
      groundTruth: datasetItems.groundTruth,
      predict: sampleResults.predict,
      score: sampleResults.score,
      status: sampleResults.status,
      error: sampleResults.error,
      outputLength: sampleResults.outputLength,
      latencyMs: sampleResults.latencyMs,
      attempts: sampleResults.attempts,
      promptTokens: sampleResults.promptTokens,
      tokensCounted: sampleResults.tokensCounted,
    })
    .from(sampleResults)
    .leftJoin(
      datasetItems,
      and(eq(datasetItems.datasetId, sampleResults.datasetId), eq(datasetItems.idx, sampleResults.sampleIdx)),
    )
    .where(
      and(
        eq(sampleResults.runId, runId),
        eq(sampleResults.datasetId, d.datasetId),
        gt(sampleResults.position, afterPosition),
        status ? eq(sampleResults.status, status) : undefined,
      ),
    )
    .orderBy(asc(sampleResults.position))
    .limit(limit);
  return rows.map((r): SampleResultView & ResultCursor => ({
    id: r.itemId ?? `#${r.sampleIdx}`,
    dataset: d.datasetId,
    sample: r.prompt ?? '',
    label: r.groundTruth ?? '',
    predict: r.predict,
    score: r.score,
    status: r.status,
    error: r.error,
    outputLength: r.outputLength,
    latencyMs: r.latencyMs,
    attempts: r.attempts,
    promptTokens: r.promptTokens,
    tokensCounted: r.tokensCounted,
    datasetPosition: d.position,
    samplePosition: r.position,
  }));
}

/** Every result of the run, page by page, for streaming out without holding the run in memory. */
export async function* allResults(db: Db, runId: string, pageSize = 1000): AsyncGenerator<SampleResultView> {
  const datasets = await listRunDatasets(db, runId);
  let after: ResultCursor | null = null;
  for (;;) {
    const page = await resultsPage(db, runId, datasets, { limit: pageSize, after });
    yield* page.items;
    if (!page.nextCursor) return;
    after = decodeResultCursor(page.nextCursor);
  }
}

/** Log lines after the given id, oldest first; `next` is what to pass as `after` to read on. */
export async function logPage(db: Db, runId: string, after: number, limit: number): Promise<LogPage> {
  const rows = await db
    .select()
    .from(runLogs)
    .where(and(eq(runLogs.runId, runId), gt(runLogs.id, after)))
    .orderBy(asc(runLogs.id))
    .limit(limit);
  return {
    items: rows.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      level: r.level,
      dataset: r.datasetId,
      message: r.message,
    })),
    next: rows.length > 0 ? rows[rows.length - 1]!.id : after,
  };
}

/** Records that a stop was asked for; null when the run had already ended (nothing to stop). */
export async function requestRunStop(db: Db, runId: string): Promise<{ stopRequestedAt: Date } | null> {
  const [row] = await db
    .update(runs)
    .set({ stopRequestedAt: sql`coalesce(${runs.stopRequestedAt}, now())` })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])))
    .returning({ stopRequestedAt: runs.stopRequestedAt });
  return row?.stopRequestedAt ? { stopRequestedAt: row.stopRequestedAt } : null;
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export interface RunFilters {
  status?: RunStatus;
  type?: RunType;
  domain?: Domain;
  /** Part of the model name, matched without regard to case. */
  model?: string;
  evaluationId?: string;
  mode?: RunMode;
}

/** The runs of a mode, read from the frozen configuration as runModeOf reads it. */
function inMode(mode: RunMode) {
  const inferenceOnly = sql`coalesce((${runs.config}->>'inferenceOnly')::boolean, false)`;
  const allUploaded = sql`(jsonb_array_length(${runs.config}->'datasets') > 0 and not exists (
    select 1 from jsonb_array_elements(${runs.config}->'datasets') d where not (d ? 'predictionSetId')))`;
  if (mode === 'inference-only') return inferenceOnly;
  if (mode === 'evaluation-only') return sql`(not ${inferenceOnly} and ${allUploaded})`;
  return sql`(not ${inferenceOnly} and not ${allUploaded})`;
}

/**
 * Runs across the viewer's evaluations (an admin's: everyone's), newest first, filtered, a page at
 * a time: each with its evaluation's model name and domain.
 */
export async function listRuns(
  db: Db,
  viewer: RunViewer,
  filters: RunFilters,
  page: { limit: number; cursor?: string },
): Promise<{ items: RunSummary[]; nextCursor: string | null }> {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const pattern = filters.model === undefined ? undefined : `%${filters.model.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await db
    .select({
      run: runs,
      modelName: evaluations.modelName,
      domain: evaluations.domain,
      key: sql<string>`to_char(${runs.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(runs)
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .where(
      and(
        viewer.role === 'admin' ? undefined : eq(runs.ownerId, viewer.userId),
        filters.status ? eq(runs.status, filters.status) : undefined,
        filters.type ? eq(runs.type, filters.type) : undefined,
        filters.domain ? eq(evaluations.domain, filters.domain) : undefined,
        pattern ? ilike(evaluations.modelName, pattern) : undefined,
        filters.evaluationId ? eq(runs.evaluationId, filters.evaluationId) : undefined,
        filters.mode ? inMode(filters.mode) : undefined,
        after ? sql`(${runs.createdAt}, ${runs.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    items: shown.map(({ run, modelName, domain }) => ({
      runId: run.id,
      evaluationId: run.evaluationId,
      modelName,
      domain,
      version: run.version,
      type: run.type,
      status: run.status,
      createdAt: run.createdAt.toISOString(),
      startedAt: iso(run.startedAt),
      endedAt: iso(run.endedAt),
      overallScore: run.overallScore,
      partial: run.config.limit !== undefined,
      mode: runModeOf(run.config),
    })),
    nextCursor: more && last ? encodeCursor(last.key, last.run.id) : null,
  };
}
