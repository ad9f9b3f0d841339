/**
 * The leaderboard aggregate: a formal run's submission window (opened when the run succeeds,
 * closed by submission or by time) and the boards read from the submitted ones. Every write is
 * guarded by the current status, so a retried activity repeats nothing.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { datasets, evaluations, leaderboardSubmissions, leaderboardSuites, runDatasets, runs, users } from '../schema';
import type { Domain } from '../../contracts/domain';
import type { DatasetMetrics, RunConfig } from '../../contracts/run';
import {
  ANONYMOUS,
  type EarlierLeaderboard,
  type LeaderboardMode,
  type LeaderboardRow,
  type LeaderboardScore,
  type LeaderboardSuiteView,
  type LeaderboardTaskColumn,
  type LeaderboardView,
  type SuiteDataset,
} from '../../contracts/leaderboard';
import { rankRows } from '../../scoring/leaderboardRanking';
import { overallInterval, overallScore, taskScores } from '../../scoring/scoreAggregation';

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
  // Under the board's suite as it stands now (the API checked the run covers it a moment ago).
  await db
    .update(leaderboardSubmissions)
    .set({
      status: 'submitted',
      mode,
      submittedBy,
      submittedAt: sql`now()`,
      suiteVersion: sql`(select max(${leaderboardSuites.version}) from ${leaderboardSuites} where ${leaderboardSuites.domain} = ${leaderboardSubmissions.domain})`,
    })
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

export type SuiteRow = typeof leaderboardSuites.$inferSelect;

/**
 * The datasets a board may rank on: the domain's built-ins that the platform scores by itself
 * (not subjective ones, which wait for reviewers, nor benchmarks a custom evaluation image brings),
 * in the order GET /v1/datasets lists them.
 */
export async function admissibleDatasets(db: Db, domain: Domain): Promise<SuiteDataset[]> {
  return db
    .select({ id: datasets.id, task: datasets.task, contentHash: datasets.contentHash })
    .from(datasets)
    .where(
      and(
        eq(datasets.domain, domain),
        eq(datasets.builtin, true),
        eq(datasets.subjective, false),
        eq(datasets.source, 'items'),
      ),
    )
    .orderBy(asc(datasets.task), asc(datasets.id));
}

/** The board's current suite; the first use of a board makes version 1 from its admissible datasets. */
export async function currentSuite(db: Db, domain: Domain): Promise<SuiteRow> {
  const [latest] = await db
    .select()
    .from(leaderboardSuites)
    .where(eq(leaderboardSuites.domain, domain))
    .orderBy(desc(leaderboardSuites.version))
    .limit(1);
  if (latest) return latest;
  const admissible = await admissibleDatasets(db, domain);
  await db
    .insert(leaderboardSuites)
    .values({ domain, version: 1, name: `${domain} default`, datasets: admissible, createdBy: null })
    .onConflictDoNothing();
  return currentSuite(db, domain);
}

export async function listSuites(db: Db, domain: Domain): Promise<SuiteRow[]> {
  await currentSuite(db, domain);
  return db
    .select()
    .from(leaderboardSuites)
    .where(eq(leaderboardSuites.domain, domain))
    .orderBy(desc(leaderboardSuites.version));
}

const sameDatasets = (a: SuiteDataset[], b: SuiteDataset[]) =>
  a.length === b.length && a.every((d, i) => d.id === b[i]!.id && d.contentHash === b[i]!.contentHash);

/**
 * Makes `datasets` (admissible, checked by the caller) the board's suite: a new version, unless it
 * is already the current one (then that one is returned, `created` false). Versions of one board
 * are numbered under a transaction-scoped advisory lock, so two admins never make the same number.
 */
export async function setSuite(
  db: Db,
  domain: Domain,
  suite: { name: string; datasets: SuiteDataset[] },
  by: string,
): Promise<{ row: SuiteRow; created: boolean }> {
  await currentSuite(db, domain);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`leaderboard-suite:${domain}`}))`);
    const [latest] = await tx
      .select()
      .from(leaderboardSuites)
      .where(eq(leaderboardSuites.domain, domain))
      .orderBy(desc(leaderboardSuites.version))
      .limit(1);
    if (latest && sameDatasets(latest.datasets, suite.datasets)) return { row: latest, created: false };
    const [row] = await tx
      .insert(leaderboardSuites)
      .values({
        domain,
        version: (latest?.version ?? 0) + 1,
        name: suite.name,
        datasets: suite.datasets,
        createdBy: by,
      })
      .returning();
    return { row: row!, created: true };
  });
}

export function toSuiteView(row: SuiteRow): LeaderboardSuiteView {
  return {
    domain: row.domain,
    version: row.version,
    name: row.name,
    datasets: row.datasets.map((d) => d.id),
    createdAt: row.createdAt.toISOString(),
    setBy: row.createdBy === null ? 'default' : 'admin',
  };
}

/**
 * What of the suite a run has not finished, as the run was launched: a dataset it did not run or
 * did not finish, or ran on other content than the suite pins. Empty when the run covers it.
 */
export function uncovered(
  suite: SuiteDataset[],
  config: Pick<RunConfig, 'datasets'>,
  results: { datasetId: string; status: string; metrics: unknown }[],
): string[] {
  const planned = new Map(config.datasets.map((d) => [d.datasetId, d.contentHash]));
  const finished = new Set(results.filter((r) => r.status === 'succeeded' && r.metrics).map((r) => r.datasetId));
  return suite.flatMap((d) => {
    if (!planned.has(d.id)) return [`${d.id} (not in the run)`];
    if (planned.get(d.id) !== d.contentHash) return [`${d.id} (the run scored other content than the suite pins)`];
    if (!finished.has(d.id)) return [`${d.id} (not finished)`];
    return [];
  });
}

export async function runDatasetResults(db: Db, runId: string) {
  return db
    .select({ datasetId: runDatasets.datasetId, status: runDatasets.status, metrics: runDatasets.metrics })
    .from(runDatasets)
    .where(eq(runDatasets.runId, runId));
}

function columnsOf(suite: SuiteDataset[]): LeaderboardTaskColumn[] {
  const columns: LeaderboardTaskColumn[] = [];
  for (const d of [...suite].sort((a, b) => (a.task === b.task ? cmp(a.id, b.id) : cmp(a.task, b.task)))) {
    const last = columns[columns.length - 1];
    if (last?.task === d.task) last.datasets.push(d.id);
    else columns.push({ task: d.task, datasets: [d.id] });
  }
  return columns;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The domain's board: the current suite's columns and the runs submitted under it, ranked on the
 * suite's datasets only (task and overall scores as scoring/scoreAggregation.ts computes them for
 * the run's own view, over those datasets); then, under each earlier version, the runs submitted
 * under it. A row shows no id of a run, an evaluation or a user: an anonymous row is the model
 * name, "anonymous" twice, the time and the scores.
 */
export async function loadLeaderboard(db: Db, domain: Domain): Promise<LeaderboardView> {
  const suites = await listSuites(db, domain);
  const current = suites[0]!;
  const entries = await db
    .select({
      runId: runs.id,
      config: runs.config,
      modelName: evaluations.modelName,
      mode: leaderboardSubmissions.mode,
      submittedAt: leaderboardSubmissions.submittedAt,
      suiteVersion: leaderboardSubmissions.suiteVersion,
      name: users.name,
      organization: users.organization,
    })
    .from(leaderboardSubmissions)
    .innerJoin(runs, eq(runs.id, leaderboardSubmissions.runId))
    .innerJoin(evaluations, eq(evaluations.id, runs.evaluationId))
    .innerJoin(users, eq(users.id, runs.ownerId))
    .where(and(eq(leaderboardSubmissions.domain, domain), eq(leaderboardSubmissions.status, 'submitted')));
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

  const boardOf = (suite: SuiteRow | null, members: typeof entries) => {
    // Before suites, a board showed every built-in dataset a run finished; those rows keep their runs' own scores.
    const suiteIds = suite ? new Set(suite.datasets.map((d) => d.id)) : null;
    const scored = members.flatMap((entry) => {
      const runRows = (byRun.get(entry.runId) ?? []).sort((a, b) => a.position - b.position);
      // A submission under a suite its run does not cover (the suite changed as it was recorded) is not ranked.
      if (suite && uncovered(suite.datasets, entry.config, runRows).length > 0) return [];
      const counted = suiteIds ? runRows.filter((d) => suiteIds.has(d.datasetId)) : runRows;
      const tasks = taskScores(counted);
      const score = overallScore(tasks);
      if (score === null) return [];
      return [
        {
          entry,
          runId: entry.runId,
          counted,
          tasks,
          score,
          ci95: overallInterval(tasks),
          submittedAt: entry.submittedAt!,
        },
      ];
    });
    const columns = suite ? columnsOf(suite.datasets) : legacyColumns(scored.flatMap((s) => s.counted));
    const shown = new Set(columns.flatMap((c) => c.datasets));
    const rows = rankRows(scored).map(({ row, rank, rankRange }): LeaderboardRow => {
      const { entry, counted, tasks } = row;
      const anonymous = entry.mode !== 'named';
      return {
        rank,
        rankRange,
        modelName: entry.modelName,
        mode: entry.mode ?? 'anonymous',
        submitter: anonymous ? ANONYMOUS : entry.name,
        organization: anonymous ? ANONYMOUS : entry.organization,
        submittedAt: row.submittedAt.toISOString(),
        overallScore: row.score,
        overallCi95: row.ci95,
        taskScores: Object.fromEntries(
          tasks.map((t): [string, LeaderboardScore] => [t.task, { score: t.score, ci95: t.ci95 }]),
        ),
        datasetScores: Object.fromEntries(
          counted
            .filter((d) => d.status === 'succeeded' && d.metrics && shown.has(d.datasetId))
            .map((d): [string, LeaderboardScore] => [
              d.datasetId,
              { score: d.metrics!.score, ci95: d.metrics!.ci95 ?? null },
            ]),
        ),
        caveats: rowCaveats(counted),
      };
    });
    return { columns, rows };
  };

  const underVersion = (version: number | null) => entries.filter((e) => e.suiteVersion === version);
  const earlier: EarlierLeaderboard[] = [];
  for (const suite of suites.slice(1)) {
    const members = underVersion(suite.version);
    if (members.length > 0) earlier.push({ suite: toSuiteView(suite), ...boardOf(suite, members) });
  }
  const legacy = underVersion(null);
  if (legacy.length > 0) earlier.push({ suite: null, ...boardOf(null, legacy) });
  return { domain, suite: toSuiteView(current), ...boardOf(current, underVersion(current.version)), earlier };
}

function legacyColumns(rows: { datasetId: string; task: string }[]): LeaderboardTaskColumn[] {
  const unique = new Map(rows.map((r) => [r.datasetId, { id: r.datasetId, task: r.task, contentHash: '' }]));
  return columnsOf([...unique.values()]);
}
