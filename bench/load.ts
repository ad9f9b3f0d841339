/**
 * Load held, at bench size: U users create E evaluations through the API, then R formal
 * runs are launched at once and executed by one worker process against the stand-in model (latency
 * L). Every poll round reads every launched run (GET /v1/runs/{id}, P requests in flight), lists
 * evaluations and reads /v1/me; each request is timed. The same rounds are then sent once more with every run ended and
 * the worker idle: the p99 under load is reported as a ratio to that idle p99, measured in the same
 * process against the same stack.
 *
 *   node --import tsx bench/load.ts [--users=50] [--evaluations=1000] [--runs=200] [--samples=100] [--latency-ms=20] [--idle-rounds=30] [--pollers=4]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { inArray, sql } from 'drizzle-orm';
import { sampleResults } from '../db/schema';
import { describeLatency, LatencyRecorder, mapConcurrent } from '../test/support/latency';
import { ProgressWatch } from '../test/support/progressWatch';
import { loadAverage, numberArg, printTable, type Figure } from './benchReport';
import { startBenchStack } from './benchStack';
import { createManyEvaluations } from './manyEvaluations';
import { describeCpu, startCpuMeter } from './cpuMeter';

const USERS = numberArg('users', 50);
const EVALUATIONS = numberArg('evaluations', 1000);
const RUNS = numberArg('runs', 200);
const SAMPLES = numberArg('samples', 100);
const LATENCY_MS = numberArg('latency-ms', 20);
const IDLE_ROUNDS = numberArg('idle-rounds', 30);
const TERMINAL = ['succeeded', 'failed', 'stopped'];
/** Polls in flight at once: the latency measured is the API's, not a queue the poller builds itself. */
const POLLERS = numberArg('pollers', 4);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
if (RUNS > EVALUATIONS) throw new Error('--runs cannot exceed --evaluations (one run per evaluation)');

const loadBefore = loadAverage();
const stack = await startBenchStack({ log, formalQuota: 10_000 });
try {
  const standIn = await stack.startStandIn(LATENCY_MS);
  const worker = await stack.startWorker({ PROCTOR_INFERENCE_SLOTS: String(Math.max(8, RUNS)) });

  const t0 = performance.now();
  const { keys, evaluations } = await createManyEvaluations(stack, {
    users: USERS,
    evaluations: EVALUATIONS,
    samples: SAMPLES,
    endpoint: standIn.url,
    prefix: 'load',
    withApiKeys: true,
  });
  const createSeconds = (performance.now() - t0) / 1000;
  log(`${evaluations.length} evaluations created by ${USERS} users in ${createSeconds.toFixed(1)} s`);

  // Spread the launches over the users, round robin, so many owners have runs in flight.
  const byUser = keys.map((key) => evaluations.filter((e) => e.key === key));
  const toLaunch: { key: string; id: string }[] = [];
  for (let i = 0; toLaunch.length < RUNS; i++) {
    const e = byUser[i % USERS]![Math.floor(i / USERS)];
    if (e) toLaunch.push(e);
  }

  const meter = startCpuMeter({ worker: worker.pid, temporal: stack.temporalPid, 'stand-in': standIn.pid });
  const underLoad = new LatencyRecorder();
  const launchedAt = performance.now();
  const launched = await Promise.all(
    toLaunch.map((e) => underLoad.time(() => stack.request('POST', `/v1/evaluations/${e.id}/runs`, { key: e.key }))),
  );
  const bad = launched.filter((l) => l.status !== 202);
  if (bad.length > 0) throw new Error(`${bad.length} launches refused, e.g. ${bad[0]!.status} ${bad[0]!.text}`);
  const runs = launched.map((l, i) => ({ runId: l.body.runId as string, key: toLaunch[i]!.key }));
  log(`${runs.length} formal runs launched in ${((performance.now() - launchedAt) / 1000).toFixed(1)} s`);

  const round = async (recorder: LatencyRecorder, n: number) => {
    const [views] = await Promise.all([
      mapConcurrent(runs, POLLERS, (r) =>
        recorder.time(() => stack.request('GET', `/v1/runs/${r.runId}`, { key: r.key })),
      ),
      recorder.time(() => stack.request('GET', '/v1/evaluations?limit=50', { key: keys[n % USERS]! })),
      recorder.time(() => stack.request('GET', '/v1/me', { key: keys[n % USERS]! })),
    ]);
    return views;
  };

  const watch = new ProgressWatch();
  let rounds = 0;
  let lastLog = 0;
  let statuses: string[] = [];
  for (;;) {
    rounds += 1;
    const views = await round(underLoad, rounds);
    statuses = views.map((v) => v.body.status as string);
    views.forEach((v, i) => watch.observe(runs[i]!.runId, { status: v.body.status, done: v.body.progress.done }));
    const ended = statuses.filter((s) => TERMINAL.includes(s)).length;
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`  ${((performance.now() - launchedAt) / 1000).toFixed(0)} s: ${ended}/${runs.length} ended`);
    }
    if (ended === runs.length) break;
    await sleep(100);
  }
  const allEndedSeconds = (performance.now() - launchedAt) / 1000;
  const cpu = meter.stop();

  // The same rounds against the same stack with nothing running: the idle baseline.
  const idle = new LatencyRecorder();
  for (let n = 0; n < IDLE_ROUNDS; n++) {
    await round(idle, n);
    await sleep(100);
  }

  const succeeded = statuses.filter((s) => s === 'succeeded').length;
  const stored = await stack.db.db
    .select({
      rows: sql<number>`count(*)::int`,
      distinct: sql<number>`count(distinct (${sampleResults.runId}, ${sampleResults.sampleIdx}))::int`,
    })
    .from(sampleResults)
    .where(
      inArray(
        sampleResults.runId,
        runs.map((r) => r.runId),
      ),
    );
  const loaded = underLoad.summary();
  const quiet = idle.summary();
  const worst = watch.worst();
  const figures: Figure[] = [
    {
      figure: 'evaluations created',
      measured: `${evaluations.length} by ${USERS} users`,
      baseline: `${createSeconds.toFixed(1)} s`,
      ratio: null,
      target: '200',
      pass: evaluations.length >= 200,
    },
    {
      figure: 'formal runs in flight at once',
      measured: String(runs.length),
      baseline: `${SAMPLES} samples each, L = ${LATENCY_MS} ms`,
      ratio: null,
      target: '50',
      pass: runs.length >= 50,
    },
    {
      figure: 'runs succeeded',
      measured: `${succeeded}/${runs.length}`,
      baseline: `all ended in ${allEndedSeconds.toFixed(1)} s`,
      ratio: null,
      target: 'all',
      pass: succeeded === runs.length,
    },
    {
      figure: 'samples stored exactly once',
      measured: `${stored[0]!.rows} rows, ${stored[0]!.distinct} distinct`,
      baseline: `${runs.length * SAMPLES} expected`,
      ratio: null,
      target: 'equal',
      pass: stored[0]!.rows === runs.length * SAMPLES && stored[0]!.distinct === runs.length * SAMPLES,
    },
    {
      figure: 'longest streak of polls without progress',
      measured: `${worst.polls} polls`,
      baseline: `${rounds} poll rounds`,
      ratio: null,
      target: 'info',
      pass: null,
    },
    {
      figure: 'API p50 under load',
      measured: `${loaded.p50.toFixed(1)} ms`,
      baseline: `${quiet.p50.toFixed(1)} ms idle`,
      ratio: loaded.p50 / quiet.p50,
      target: 'info',
      pass: null,
    },
    {
      figure: 'API p99 under load',
      measured: `${loaded.p99.toFixed(1)} ms`,
      baseline: `${quiet.p99.toFixed(1)} ms idle`,
      ratio: loaded.p99 / quiet.p99,
      target: 'reported',
      pass: null,
    },
    {
      figure: 'API max under load',
      measured: `${loaded.max.toFixed(1)} ms`,
      baseline: `${quiet.max.toFixed(1)} ms idle`,
      ratio: loaded.max / quiet.max,
      target: 'info',
      pass: null,
    },
  ];
  printTable('Load held: evaluations, concurrent formal runs, API latency', figures, [
    `command: node --import tsx bench/load.ts ${process.argv.slice(2).join(' ')}`.trimEnd(),
    `load average (1/5/15 min): before ${loadBefore}, after ${loadAverage()}`,
    `under load: ${describeLatency(loaded)}`,
    `idle (${IDLE_ROUNDS} rounds of the same requests, every run ended): ${describeLatency(quiet)}`,
    ...describeCpu(cpu),
  ]);
  if (figures.some((f) => f.pass === false)) process.exitCode = 1;
} finally {
  await stack.stop();
}
