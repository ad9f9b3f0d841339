/**
 * The leaderboard aggregate: a formal run's submission window (opened when the run succeeds,
 * closed by submission or by time) and the boards read from the submitted ones. Every write is
 * guarded by the current status, so a retried activity repeats nothing.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { datasets, evaluations, leaderboardSubmissions, runDatasets, runs, users } from '../schema';
import type { Domain } from '../../contracts/domain';
import type { DatasetMetrics } from '../../contracts/run';
import {
  ANONYMOUS,
  type LeaderboardMode,
  type LeaderboardRow,
  type LeaderboardScore,
  type LeaderboardTaskColumn,
  type LeaderboardView,
} from '../../contracts/leaderboard';
import { overallInterval, taskScores } from '../../scoring/scoreAggregation';

export type PublicationRow = typeof leaderboardSubmissions.$inferSelect;

/**
 * Opens the run's window if the run is a formal one that succeeded, and returns it; a second call
 * returns the window the first opened. Null for runs that cannot be published.
 */
export async function openPublicationWindow(db: Db, runId: string, windowMs: number): Promise<PublicationRow | null> {
  await db.execute(sql`
    insert into ${leaderboardSubmissions} (run_id, domain, status, opens_at, closes_at)
    select r.id, r.config->>'domain', 'open', now(), now() + make_interval(secs => ${windowMs / 1000})
    from ${runs} r where r.id = ${runId} and r.type = 'formal' and r.status = 'succeeded'
    on conflict (run_id) do nothing`);
  return getPublication(db, runId);
}

export async function getPublication(db: Db, runId: string): Promise<PublicationRow | null> {
  const [row] = await db.select().from(leaderboardSubmissions).where(eq(leaderboardSubmissions.runId, runId));
  return row ?? null;
}

/**
 * Records the submission while the window is open. Returns the row as it stands afterwards: the
 * caller checks it holds this submission (a retry finds its own earlier write).
 */
export async function recordSubmission(
  db: Db,
  runId: string,
  mode: LeaderboardMode,
  submittedBy: string,
): Promise<PublicationRow | null> {
  await db
    .update(leaderboardSubmissions)
    .set({ status: 'submitted', mode, submittedBy, submittedAt: sql`now()` })
    .where(and(eq(leaderboardSubmissions.runId, runId), eq(leaderboardSubmissions.status, 'open')));
  return getPublication(db, runId);
}

/** Closes an open window for good; a submitted run stays submitted. */
export async function closePublicationWindow(db: Db, runId: string): Promise<PublicationRow | null> {
  await db
    .update(leaderboardSubmissions)
    .set({ status: 'closed', closedAt: sql`now()` })
    .where(and(eq(leaderboardSubmissions.runId, runId), eq(leaderboardSubmissions.status, 'open')));
  return getPublication(db, runId);
}

/** The run's datasets that are not the platform's own: a board compares runs on built-in datasets only. */
export async function customDatasetsOf(db: Db, runId: string): Promise<string[]> {
  const rows = await db
    .select({ id: runDatasets.datasetId })
    .from(runDatasets)
    .innerJoin(datasets, eq(datasets.id, runDatasets.datasetId))
    .where(and(eq(runDatasets.runId, runId), eq(datasets.builtin, false)))
    .orderBy(asc(runDatasets.position));
  return rows.map((r) => r.id);
}

/**
 * The domain's board: columns are its built-in datasets grouped by task (as GET /v1/datasets lists
 * them); rows are the submitted runs, best overall score first (earlier submission first on a tie).
 * Task and overall scores and their intervals come from contracts/scoreAggregation.ts, as in the
 * run's own view.
 */
export const FALLBACK_CAVEAT =
  'safety answers labelled by the refusal-phrase fallback (no judge was configured): every answer to a harmful prompt that does not decline counts as unsafe';

function rowCaveats(runRows: { metrics: DatasetMetrics | null }[]): string[] {
  const fallback = runRows.filter(
    (d) => d.metrics?.safety?.labelledBy === 'fallback' || d.metrics?.safety?.labelledBy === 'mixed',
  );
  return fallback.length > 0 ? [FALLBACK_CAVEAT] : [];
}

export async function loadLeaderboard(db: Db, domain: Domain): Promise<LeaderboardView> {
  const builtins = await db
    .select({ id: datasets.id, task: datasets.task })
    .from(datasets)
    .where(and(eq(datasets.domain, domain), eq(datasets.builtin, true)))
    .orderBy(asc(datasets.task), asc(datasets.id));
  const columns: LeaderboardTaskColumn[] = [];
  for (const d of builtins) {
    const last = columns[columns.length - 1];
    if (last?.task === d.task) last.datasets.push(d.id);
    else columns.push({ task: d.task, datasets: [d.id] });
  }

  const entries = await db
    .select({
      runId: runs.id,
      overallScore: runs.overallScore,
      modelName: evaluations.modelName,
      mode: leaderboardSubmissions.mode,
      submittedAt: leaderboardSubmissions.submittedAt,
      name: users.name,
      organization: users.organization,
    })
    .from(leaderboardSubmissions)
    .innerJoin(runs, eq(runs.id, leaderboardSubmissions.runId))
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .innerJoin(users, eq(users.id, runs.ownerId))
    .where(and(eq(leaderboardSubmissions.domain, domain), eq(leaderboardSubmissions.status, 'submitted')))
    .orderBy(sql`${runs.overallScore} desc nulls last`, asc(leaderboardSubmissions.submittedAt), asc(runs.id));

  const datasetRows =
    entries.length === 0
      ? []
      : await db
          .select()
          .from(runDatasets)
          .where(
            inArray(
              runDatasets.runId,
              entries.map((e) => e.runId),
            ),
          );
  const byRun = new Map<string, typeof datasetRows>();
  for (const d of datasetRows) byRun.set(d.runId, [...(byRun.get(d.runId) ?? []), d]);
  const shown = new Set(builtins.map((d) => d.id));
  const rows = entries.map((entry, i): LeaderboardRow => {
    const runRows = (byRun.get(entry.runId) ?? []).sort((a, b) => a.position - b.position);
    const tasks = taskScores(runRows);
    const anonymous = entry.mode !== 'named';
    return {
      rank: i + 1,
      modelName: entry.modelName,
      mode: entry.mode ?? 'anonymous',
      submitter: anonymous ? ANONYMOUS : entry.name,
      organization: anonymous ? ANONYMOUS : entry.organization,
      submittedAt: entry.submittedAt!.toISOString(),
      overallScore: entry.overallScore,
      overallCi95: entry.overallScore === null ? null : overallInterval(tasks),
      taskScores: Object.fromEntries(
        tasks.map((t): [string, LeaderboardScore] => [t.task, { score: t.score, ci95: t.ci95 }]),
      ),
      datasetScores: Object.fromEntries(
        runRows
          .filter((d) => d.status === 'succeeded' && d.metrics && shown.has(d.datasetId))
          .map((d): [string, LeaderboardScore] => [
            d.datasetId,
            { score: d.metrics!.score, ci95: d.metrics!.ci95 ?? null },
          ]),
      ),
      caveats: rowCaveats(runRows),
    };
  });
  return { domain, columns, rows };
}
