/**
 * The check every fault test ends with: every sample of every dataset stored exactly once (no gap,
 * no duplicate), the counters and metrics the run view shows equal to what the rows say, the run's
 * status consistent with its datasets, and the report written. It reads the database directly and
 * through the same query the API's GET /v1/runs/:id serves, so nothing here trusts a counter the
 * code under test keeps for itself.
 */
import { and, eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Db } from '../../db/client';
import { runArtifacts, runLogs, runs } from '../../db/schema';
import { getRunFor, loadRunView } from '../../db/queries/runViews';
import { REPORT_ARTIFACT } from '../../contracts/artifact';
import { TERMINAL_STATUSES, type RunStatus, type RunView } from '../../contracts/run';

export interface DatasetAccount {
  dataset: string;
  status: RunStatus;
  total: number;
  rows: number;
  scored: number;
  failed: number;
  error: string | null;
  /** Failure reasons of failed rows, with how many rows gave each. */
  reasons: Map<string, number>;
}

export interface RunAccount {
  status: RunStatus;
  error: string | null;
  view: RunView;
  datasets: DatasetAccount[];
}

export interface AccountOptions {
  /**
   * Datasets may be given up early by the endpoint breaker: the samples it never asked must then
   * carry the dataset's reason.
   */
  mayEndEarly?: boolean;
}

/** Waits (polling the database, never a long-poll that a restart would cut) until the run has ended. */
export async function waitForRunEnd(db: Db, runId: string, timeoutMs: number, what = 'run'): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const [row] = await db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
      if (row && TERMINAL_STATUSES.includes(row.status)) {
        // The run is closed before its report is written; the report is part of ending.
        const [report] = await db
          .select({ n: sql<string>`count(*)` })
          .from(runArtifacts)
          .where(and(eq(runArtifacts.runId, runId), eq(runArtifacts.kind, REPORT_ARTIFACT.kind)));
        if (Number(report!.n) > 0) return row.status;
      }
    } catch {
      // The database may be the thing being restarted: ask again.
    }
    if (Date.now() > deadline) throw new Error(`${what} ${runId} did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Asserts exactly-once storage and consistent counts, metrics, status and report; returns what it found. */
export async function expectAccountedFor(db: Db, runId: string, options: AccountOptions = {}): Promise<RunAccount> {
  const [run] = await db.select().from(runs).where(eq(runs.id, runId));
  expect(run, `run ${runId}`).toBeDefined();
  expect(TERMINAL_STATUSES, `run ${runId} has ended`).toContain(run!.status);
  const owned = await getRunFor(db, { userId: run!.ownerId, role: 'user' }, runId);
  const view = await loadRunView(db, owned!, new Date());

  const datasets: DatasetAccount[] = [];
  for (const d of view.datasets) {
    const where = sql`run_id = ${runId} and dataset_id = ${d.dataset}`;
    const [counts] = await db.execute<{
      rows: string;
      distinct_idx: string;
      min_idx: number | null;
      max_idx: number | null;
      distinct_pos: string;
      scored: string;
      failed: string;
      score_sum: string | null;
      avg_len: string | null;
    }>(sql`
      select count(*) as rows, count(distinct sample_idx) as distinct_idx, min(sample_idx) as min_idx, max(sample_idx) as max_idx,
             count(distinct position) as distinct_pos,
             count(*) filter (where status = 'scored') as scored, count(*) filter (where status = 'failed') as failed,
             sum(coalesce(score, 0)) as score_sum, avg(output_length) filter (where status = 'scored') as avg_len
        from sample_results where ${where}`);
    const duplicates = await db.execute<{ sample_idx: number; n: string }>(sql`
      select sample_idx, count(*) as n from sample_results where ${where} group by sample_idx having count(*) > 1 limit 5`);
    const rows = Number(counts!.rows);
    const label = `${runId} ${d.dataset}`;
    expect(duplicates, `${label}: samples stored more than once`).toEqual([]);
    expect(Number(counts!.distinct_idx), `${label}: distinct samples`).toBe(rows);
    expect(Number(counts!.distinct_pos), `${label}: distinct positions`).toBe(rows);
    // No gap: samples 0 … total-1, each once (formal runs take every item in order). A dataset
    // given up early (the endpoint breaker) still has a failed row, with the reason, for every
    // sample it never asked.
    expect(rows, `${label}: rows stored (status ${d.status}, error ${d.error})`).toBe(d.total);
    if (rows > 0) expect([counts!.min_idx, counts!.max_idx], `${label}: sample range`).toEqual([0, d.total - 1]);
    if (options.mayEndEarly && d.status === 'failed') {
      expect(d.error, `${label}: a dataset that ended early says why`).toBeTruthy();
      const unasked = await db.execute<{ error: string | null }>(sql`
        select distinct error from sample_results where ${where} and attempts = 0`);
      for (const r of unasked)
        expect(r.error, `${label}: a sample never asked says why`).toBe(`not attempted: ${d.error}`);
    }

    // The run view's counters are the rows, exactly.
    expect([d.done, d.failed], `${label}: view counters done/failed`).toEqual([rows, Number(counts!.failed)]);
    const scored = Number(counts!.scored);
    const failed = Number(counts!.failed);
    expect(scored + failed, `${label}: every row scored or failed`).toBe(rows);

    // Metrics recomputed from the rows.
    if (TERMINAL_STATUSES.includes(d.status) && d.status !== 'stopped') {
      expect(d.metrics, `${label}: metrics of an ended dataset`).not.toBeNull();
      const m = d.metrics!;
      expect([m.scored, m.failed], `${label}: metrics scored/failed`).toEqual([scored, failed]);
      expect(m.score, `${label}: metrics score`).toBeCloseTo(
        rows === 0 ? 0 : Number(counts!.score_sum ?? 0) / rows,
        10,
      );
      expect(m.avgOutputLength, `${label}: metrics avgOutputLength`).toBeCloseTo(
        counts!.avg_len === null ? 0 : Number(counts!.avg_len),
        6,
      );
    }

    const reasonRows = await db.execute<{ error: string | null; n: string }>(sql`
      select error, count(*) as n from sample_results where ${where} and status = 'failed' group by error`);
    const reasons = new Map(reasonRows.map((r) => [r.error ?? '', Number(r.n)]));
    for (const reason of reasons.keys())
      expect(reason.length, `${label}: a failed sample says why`).toBeGreaterThan(10);
    datasets.push({
      dataset: d.dataset,
      status: d.status,
      total: d.total,
      rows,
      scored,
      failed,
      error: d.error,
      reasons,
    });
  }

  // The view's progress is the sum of the datasets, and the run's status follows from them.
  expect(view.progress.done, `${runId}: progress.done`).toBe(datasets.reduce((n, d) => n + d.rows, 0));
  for (const d of datasets) expect(TERMINAL_STATUSES, `${runId} ${d.dataset}: dataset ended`).toContain(d.status);
  const anySucceeded = datasets.some((d) => d.status === 'succeeded');
  if (run!.status !== 'stopped')
    expect(run!.status, `${runId}: run status given its datasets`).toBe(anySucceeded ? 'succeeded' : 'failed');
  if (run!.status === 'failed') expect(run!.error, `${runId}: a failed run says why`).toBeTruthy();
  for (const d of datasets.filter((x) => x.status === 'failed'))
    expect(d.error, `${runId} ${d.dataset}: a failed dataset says why`).toBeTruthy();

  // The report exists and covers every stored row.
  const [report] = await db
    .select({ bytes: sql<number>`octet_length(${runArtifacts.content})` })
    .from(runArtifacts)
    .where(and(eq(runArtifacts.runId, runId), eq(runArtifacts.kind, REPORT_ARTIFACT.kind)));
  expect(report?.bytes ?? 0, `${runId}: report`).toBeGreaterThan(0);
  const [reportLog] = await db
    .select({ message: runLogs.message })
    .from(runLogs)
    .where(and(eq(runLogs.runId, runId), eq(runLogs.dedupeKey, 'report')));
  expect(reportLog?.message, `${runId}: report log line`).toContain(
    `report written: ${view.progress.done} sample row(s)`,
  );

  return { status: run!.status, error: run!.error, view, datasets };
}
