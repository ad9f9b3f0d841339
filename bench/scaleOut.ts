/**
 * Scale-out: two worker processes on the same task queues share a run's work, and killing one of
 * them (SIGKILL, no goodbye) does not stall the run. Three formal runs of the same size, each on
 * a fresh dataset, in one stack:
 *
 *   1. one worker: the baseline;
 *   2. two workers: which of them ran each batch (the identity Temporal records on every activity);
 *   3. two workers, one killed once the run is `--kill-at` done: the run must end succeeded with
 *      every sample stored exactly once; the longest stretch without progress is compared with the
 *      inference heartbeat timeout, the time after which Temporal hands a lost worker's batch to
 *      the survivor.
 *
 *   node --import tsx bench/scaleOut.ts [--n=40000] [--concurrency=32] [--latency-ms=20] [--kill-at=0.4]
 */
import { sql } from 'drizzle-orm';
import { numberArg, loadAverage, printTable, type Figure } from './benchReport';
import { createUser, startBenchStack, type BenchStack, type WorkerProcess } from './benchStack';
import { runFormal, type FormalRunResult } from './formalRun';
import { runHistoryCounts } from './historyCount';
import { ACTIVITY_OPTIONS, workflowIds } from '../temporal.config';

const N = numberArg('n', 40_000);
const C = numberArg('concurrency', 32);
const L = numberArg('latency-ms', 20);
const KILL_AT = numberArg('kill-at', 0.4);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const loadBefore = loadAverage();

const stack = await startBenchStack({ log, formalQuota: 20 });
try {
  const model = await stack.startStandIn(L);
  const apiKey = await createUser(stack);
  const run = (onPoll?: Parameters<typeof runFormal>[1]['onPoll']) =>
    runFormal(stack, { apiKey, endpoint: model.url, n: N, concurrency: C, log, onPoll });

  log('1/3: one worker');
  const first = await stack.startWorker();
  const single = await run();

  log('2/3: two workers');
  const second = await stack.startWorker();
  const shared = await run();
  const sharedShare = await batchesByWorker(stack, shared);

  log(`3/3: two workers, one killed at ${(KILL_AT * 100).toFixed(0)} % done`);
  let killed: { atMs: number; done: number; pid: number } | null = null;
  const victim: WorkerProcess = second;
  const survivorPid = first.pid;
  const withKill = await run(({ atMs, done, total }) => {
    if (killed || done < KILL_AT * total) return;
    process.kill(victim.pid, 'SIGKILL');
    killed = { atMs, done, pid: victim.pid };
    log(`  killed worker ${victim.pid} at ${(atMs / 1000).toFixed(1)} s, ${done}/${total} done`);
  });
  const killShare = await batchesByWorker(stack, withKill);
  const stall = longestStall(withKill);
  const exactlyOnce = await storedOnce(stack, withKill);
  const heartbeatMs = parseSeconds(ACTIVITY_OPTIONS.inference.heartbeatTimeout);

  const perSecond = (r: FormalRunResult) => r.n / (r.toEndedMs / 1000);
  const describe = (share: Map<string, number>) => [...share.entries()].map(([who, n]) => `${who}: ${n}`).join(', ');
  const figures: Figure[] = [
    {
      figure: 'one worker, launch → run ended',
      measured: `${perSecond(single).toFixed(0)} /s (${(single.toEndedMs / 1000).toFixed(1)} s)`,
      baseline: '',
      ratio: null,
      target: 'baseline',
      pass: single.status === 'succeeded' ? null : false,
    },
    {
      figure: 'two workers, launch → run ended',
      measured: `${perSecond(shared).toFixed(0)} /s (${(shared.toEndedMs / 1000).toFixed(1)} s)`,
      baseline: `${perSecond(single).toFixed(0)} /s one worker`,
      ratio: perSecond(shared) / perSecond(single),
      target: 'info',
      pass: shared.status === 'succeeded' ? null : false,
    },
    {
      figure: 'two workers: batches run by each',
      measured: describe(sharedShare),
      baseline: `${[...sharedShare.values()].reduce((a, b) => a + b, 0)} batches`,
      ratio: null,
      target: 'both take batches',
      pass: sharedShare.size >= 2,
    },
    {
      figure: 'one of two killed: run ends succeeded, every sample once',
      measured: `${withKill.status}, ${exactlyOnce.rows} rows for ${exactlyOnce.distinct} samples of ${N}`,
      baseline: '',
      ratio: null,
      target: 'succeeded, N rows, N distinct',
      pass: withKill.status === 'succeeded' && exactlyOnce.rows === N && exactlyOnce.distinct === N,
    },
    {
      figure: 'one of two killed: launch → run ended',
      measured: `${perSecond(withKill).toFixed(0)} /s (${(withKill.toEndedMs / 1000).toFixed(1)} s)`,
      baseline: `${perSecond(single).toFixed(0)} /s one worker`,
      ratio: perSecond(withKill) / perSecond(single),
      target: 'info',
      pass: null,
    },
    {
      figure: 'one of two killed: longest stretch without progress',
      measured: `${(stall.ms / 1000).toFixed(1)} s (from ${(stall.fromMs / 1000).toFixed(1)} s)`,
      baseline: `${heartbeatMs / 1000} s heartbeat timeout`,
      ratio: stall.ms / heartbeatMs,
      target: '≤ heartbeat timeout + 5 s',
      pass: stall.ms <= heartbeatMs + 5_000,
    },
    {
      figure: 'one of two killed: batches run by each',
      measured: describe(killShare),
      baseline: `killed pid ${killed ? (killed as { pid: number }).pid : '?'}, survivor ${survivorPid}`,
      ratio: null,
      target: 'info',
      pass: null,
    },
  ];
  printTable(
    `Scale-out: N = ${N}, C = ${C}, L = ${L} ms, two worker processes on the runs and inference queues`,
    figures,
    [
      `command: node --import tsx bench/scaleOut.ts --n=${N} --concurrency=${C} --latency-ms=${L} --kill-at=${KILL_AT}`,
      `load average (1/5/15 min): before ${loadBefore}, after ${loadAverage()}`,
      `batches of a dataset run one after another, so two workers share a run's work by taking its batches in turn; a run's speed is set by its concurrency, and more workers let more runs go at once`,
    ],
  );
} finally {
  await stack.stop();
}

/** Completed inferBatch activities of the run's dataset per worker identity (pid@host). */
async function batchesByWorker(s: BenchStack, r: FormalRunResult): Promise<Map<string, number>> {
  const { executions } = await runHistoryCounts(s.temporal, r.runId, [r.datasetId]);
  const share = new Map<string, number>();
  for (const e of executions.filter((x) => x.workflowId === workflowIds.dataset(r.runId, r.datasetId))) {
    const history = await s.temporal.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
    for (const event of history.events ?? []) {
      const identity = event.activityTaskStartedEventAttributes?.identity;
      if (identity) share.set(identity, (share.get(identity) ?? 0) + 1);
    }
  }
  return share;
}

function longestStall(r: FormalRunResult): { ms: number; fromMs: number } {
  let best = { ms: 0, fromMs: 0 };
  let since = r.progress[0];
  for (const p of r.progress) {
    if (!since || p.done > since.done) since = p;
    else if (p.atMs - since.atMs > best.ms && p.done < r.n) best = { ms: p.atMs - since.atMs, fromMs: since.atMs };
  }
  return best;
}

async function storedOnce(s: BenchStack, r: FormalRunResult): Promise<{ rows: number; distinct: number }> {
  const [row] = await s.db.db.execute<{ rows: number; distinct: number }>(
    sql`select count(*)::int as rows, count(distinct sample_idx)::int as distinct from sample_results where run_id = ${r.runId}::uuid and dataset_id = ${r.datasetId}`,
  );
  return row!;
}

function parseSeconds(duration: string): number {
  const match = /^(\d+) seconds?$/.exec(duration);
  if (!match) throw new Error(`cannot read the duration ${duration}`);
  return Number(match[1]) * 1000;
}
