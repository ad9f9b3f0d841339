/**
 * Many runs: R small formal runs (S samples each, stand-in latency L) launched together
 * by U users and executed by one worker process, until every one has ended. Reports the time from
 * the first launch request to the last run's end, runs per second, and the load the run put on
 * Temporal and PostgreSQL: CPU seconds of each server's process tree (from /proc), PostgreSQL's
 * transactions, rows and connections (pg_stat_database, pg_stat_activity sampled every second) and
 * Temporal's workflow executions and history events (from its visibility listing).
 *
 *   node --import tsx bench/manyRuns.ts [--runs=1000] [--users=100] [--samples=5] [--latency-ms=20] [--slots=256]
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { ProgressWatch } from '../test/support/progressWatch';
import { loadAverage, mib, numberArg, printTable, type Figure } from './benchReport';
import { startBenchStack } from './benchStack';
import { createManyEvaluations } from './manyEvaluations';
import { describeCpu, startCpuMeter } from './cpuMeter';
import { memoryBytes, postmasterPid, treeCpuSeconds } from './processTreeCpu';

const RUNS = numberArg('runs', 1000);
const USERS = numberArg('users', 100);
const SAMPLES = numberArg('samples', 5);
const LATENCY_MS = numberArg('latency-ms', 20);
const SLOTS = numberArg('slots', 256);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface PgCounters {
  xactCommit: number;
  xactRollback: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
  tupFetched: number;
  blksHit: number;
  blksRead: number;
}

const loadBefore = loadAverage();
const stack = await startBenchStack({ log, formalQuota: 10_000 });
try {
  const standIn = await stack.startStandIn(LATENCY_MS);
  const worker = await stack.startWorker({ PROCTOR_INFERENCE_SLOTS: String(SLOTS) });
  const db = stack.db.db;
  const pgCounters = async (): Promise<PgCounters> => {
    const [row] = (await db.execute(sql`
      select xact_commit::float8 as "xactCommit", xact_rollback::float8 as "xactRollback", tup_inserted::float8 as "tupInserted",
             tup_updated::float8 as "tupUpdated", tup_deleted::float8 as "tupDeleted", tup_fetched::float8 as "tupFetched",
             blks_hit::float8 as "blksHit", blks_read::float8 as "blksRead"
      from pg_stat_database where datname = current_database()`)) as unknown as PgCounters[];
    return row!;
  };
  const connections = async (): Promise<number> => {
    const [row] = (await db.execute(
      sql`select count(*)::int as n from pg_stat_activity where datname = current_database()`,
    )) as unknown as { n: number }[];
    return row!.n;
  };

  const t0 = performance.now();
  const { evaluations } = await createManyEvaluations(stack, {
    users: USERS,
    evaluations: RUNS,
    samples: SAMPLES,
    endpoint: standIn.url,
    prefix: 'many',
  });
  log(
    `${evaluations.length} evaluations created by ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const pgPid = postmasterPid(path.join(stack.dir, 'pg', 'pgdata'));
  const temporalPid = stack.temporalPid;
  if (!temporalPid) throw new Error('the Temporal dev server was not spawned by this process; its CPU cannot be read');
  const pgCpu0 = treeCpuSeconds(pgPid);
  const temporalCpu0 = treeCpuSeconds(temporalPid);
  const pg0 = await pgCounters();
  const meter = startCpuMeter({ worker: worker.pid, 'stand-in': standIn.pid });
  let maxConnections = 0;
  const sampler = setInterval(() => {
    connections().then(
      (n) => (maxConnections = Math.max(maxConnections, n)),
      () => {},
    );
  }, 1000);

  const launchedAt = performance.now();
  const launched = await Promise.all(
    evaluations.map((e) => stack.request('POST', `/v1/evaluations/${e.id}/runs`, { key: e.key })),
  );
  const launchSeconds = (performance.now() - launchedAt) / 1000;
  const bad = launched.filter((l) => l.status !== 202);
  if (bad.length > 0) throw new Error(`${bad.length} launches refused, e.g. ${bad[0]!.status} ${bad[0]!.text}`);
  const runIds = launched.map((l) => l.body.runId as string);
  log(`${runIds.length} formal runs launched in ${launchSeconds.toFixed(1)} s`);

  // Progress is read from the records every second (1,000 GETs a second would measure the poller).
  const watch = new ProgressWatch();
  let maxRunning = 0;
  let lastLog = 0;
  let byStatus: Record<string, number> = {};
  for (;;) {
    const rows = (await db.execute(sql`
      select r.id, r.status, coalesce(sum(d.done), 0)::int as done
      from runs r left join run_datasets d on d.run_id = r.id
      where r.id = any(${`{${runIds.join(',')}}`}::uuid[])
      group by r.id, r.status`)) as unknown as { id: string; status: string; done: number }[];
    byStatus = {};
    for (const r of rows) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      watch.observe(r.id, r);
    }
    maxRunning = Math.max(maxRunning, byStatus.running ?? 0);
    const ended = (byStatus.succeeded ?? 0) + (byStatus.failed ?? 0) + (byStatus.stopped ?? 0);
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`  ${((performance.now() - launchedAt) / 1000).toFixed(0)} s: ${JSON.stringify(byStatus)}`);
    }
    if (ended === runIds.length) break;
    await sleep(1000);
  }
  const allEndedSeconds = (performance.now() - launchedAt) / 1000;
  clearInterval(sampler);
  const cpu = meter.stop();
  const pgCpu = treeCpuSeconds(pgPid) - pgCpu0;
  const temporalCpu = treeCpuSeconds(temporalPid) - temporalCpu0;
  // pg_stat_database is flushed by backends when idle for a second: wait for the last counts.
  await sleep(1500);
  const pg1 = await pgCounters();
  const delta = (k: keyof PgCounters) => pg1[k] - pg0[k];

  // Every workflow execution Temporal knows in this fresh namespace belongs to these runs (plus the warm-up-free start).
  let executions = 0;
  let events = 0;
  let largest = 0;
  for await (const wf of stack.temporal.workflow.list()) {
    executions += 1;
    events += wf.historyLength;
    largest = Math.max(largest, wf.historyLength);
  }
  const [stored] = (await db.execute(sql`
    select count(*)::int as rows, count(distinct (run_id, dataset_id, sample_idx))::int as distinct
    from sample_results where run_id = any(${`{${runIds.join(',')}}`}::uuid[])`)) as unknown as {
    rows: number;
    distinct: number;
  }[];

  const succeeded = byStatus.succeeded ?? 0;
  const perSecond = runIds.length / allEndedSeconds;
  const figures: Figure[] = [
    {
      figure: 'runs succeeded',
      measured: `${succeeded}/${runIds.length}`,
      baseline: `${SAMPLES} samples each, L = ${LATENCY_MS} ms`,
      ratio: null,
      target: 'all',
      pass: succeeded === runIds.length,
    },
    {
      figure: 'samples stored exactly once',
      measured: `${stored!.rows} rows, ${stored!.distinct} distinct`,
      baseline: `${runIds.length * SAMPLES} expected`,
      ratio: null,
      target: 'equal',
      pass: stored!.rows === runIds.length * SAMPLES && stored!.distinct === stored!.rows,
    },
    {
      figure: 'first launch → last run ended',
      measured: `${allEndedSeconds.toFixed(1)} s`,
      baseline: `launches took ${launchSeconds.toFixed(1)} s`,
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'runs per second',
      measured: perSecond.toFixed(2),
      baseline: `most running at once ${maxRunning}`,
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'Temporal: CPU',
      measured: `${temporalCpu.toFixed(1)} s`,
      baseline: `${((temporalCpu / runIds.length) * 1000).toFixed(1)} ms per run; peak RSS ${mib(memoryBytes(temporalPid, 'VmHWM'))}`,
      ratio: temporalCpu / allEndedSeconds,
      target: 'info (ratio = cores busy)',
      pass: null,
    },
    {
      figure: 'Temporal: executions, history events',
      measured: `${executions} executions, ${events} events`,
      baseline: `${(events / runIds.length).toFixed(1)} events per run, largest ${largest}`,
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'PostgreSQL: CPU (all backends)',
      measured: `${pgCpu.toFixed(1)} s`,
      baseline: `${((pgCpu / runIds.length) * 1000).toFixed(1)} ms per run`,
      ratio: pgCpu / allEndedSeconds,
      target: 'info (ratio = cores busy)',
      pass: null,
    },
    {
      figure: 'PostgreSQL: transactions',
      measured: `${delta('xactCommit')} commits, ${delta('xactRollback')} rollbacks`,
      baseline: `${(delta('xactCommit') / runIds.length).toFixed(1)} per run, ${(delta('xactCommit') / allEndedSeconds).toFixed(0)}/s`,
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'PostgreSQL: rows',
      measured: `${delta('tupInserted')} inserted, ${delta('tupUpdated')} updated, ${delta('tupDeleted')} deleted`,
      baseline: `${delta('tupFetched')} fetched; blocks ${delta('blksHit')} hit / ${delta('blksRead')} read`,
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'PostgreSQL: connections (max sampled)',
      measured: String(maxConnections),
      baseline: 'API pool 10 + worker pool + bench',
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'longest streak of 1 s polls without progress',
      measured: `${watch.worst().polls} polls`,
      baseline: 'waiting for a slot counts',
      ratio: null,
      target: 'info',
      pass: null,
    },
  ];
  printTable(`Many runs: ${runIds.length} concurrent small formal runs`, figures, [
    `command: node --import tsx bench/manyRuns.ts ${process.argv.slice(2).join(' ')}`.trimEnd(),
    `load average (1/5/15 min): before ${loadBefore}, after ${loadAverage()}`,
    ...describeCpu(cpu),
  ]);
  if (figures.some((f) => f.pass === false)) process.exitCode = 1;
} finally {
  await stack.stop();
}
