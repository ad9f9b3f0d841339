/**
 * Ten trials of a worker process killed with SIGKILL — no shutdown hook, no flush — at a
 * seeded-random point of a formal run: early, midway and late in a dataset, as a dataset's last
 * batch finishes, and while the report is written. After each kill a new worker process starts
 * and the next trial's run begins, so earlier runs are hit again by later kills. Every run must
 * end succeeded with every sample stored exactly once, its counters and metrics equal to its rows,
 * and its report written. The seed is printed; FAULT_SEED=<seed> replays the same kill points.
 */
import { afterAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { REPORT_ARTIFACT } from '../../contracts/artifact';
import { TERMINAL_STATUSES, type RunStatus } from '../../contracts/run';
import { insertArithmeticDataset, insertRun, insertUser, type FixtureDataset } from '../support/runFixtures';
import type { WorkerProcess } from '../support/workerProcess';
import { startFaultWorker } from './faultWorker';
import { expectAccountedFor, waitForRunEnd } from './accounting';
import { faultSeed, seededRandom, shuffled } from './faultSeed';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const SEED = faultSeed();
const TRIALS = Number(process.env.FAULT_KILL_TRIALS ?? 10);
const FIRST_DATASET = 800;
const SECOND_DATASET = 400;
const TOTAL = FIRST_DATASET + SECOND_DATASET;

type Target = 'early' | 'middle' | 'late' | 'dataset finish' | 'report';

interface Snapshot {
  runStatus: RunStatus;
  datasets: { status: RunStatus; done: number; total: number }[];
  reported: boolean;
}

interface Trial {
  target: Target;
  /** For early/middle/late: the fraction of the run's samples stored before the kill. */
  fraction: number;
  /** A further pause once the point is reached, so the kill lands anywhere in the work in flight. */
  delayMs: number;
}

const workers: WorkerProcess[] = [];

const stack = useTestStack({ db: true, temporal: true, model: { skill: 1, latencyMs: 8, jitterMs: 4 } });

afterAll(async () => {
  for (const w of workers) await w.kill();
});

/**
 * The trials, drawn from the seed. Kills at a dataset's finish or during the report cost the most
 * waiting (the interrupted activity is retried only after its timeout), so they go first, where
 * that wait overlaps the later trials.
 */
function drawTrials(random: () => number): Trial[] {
  const draw = (target: Target): Trial => {
    const [low, high] =
      target === 'early' ? [0.05, 0.25] : target === 'middle' ? [0.35, 0.6] : target === 'late' ? [0.7, 0.9] : [0, 0];
    return { target, fraction: low + random() * (high - low), delayMs: Math.floor(random() * 800) };
  };
  const slow = shuffled<Target>(['dataset finish', 'dataset finish', 'report', 'report'], random).map(draw);
  const quick = shuffled<Target>(['early', 'early', 'middle', 'middle', 'late', 'late'], random).map(draw);
  return [...slow, ...quick].slice(0, TRIALS);
}

async function snapshot(runId: string): Promise<Snapshot> {
  const [row] = await stack.db.execute<{
    run_status: RunStatus;
    datasets: Snapshot['datasets'];
    reported: boolean;
  }>(sql`
    select r.status as run_status,
           (select json_agg(json_build_object('status', d.status, 'done', d.done, 'total', d.total) order by d.position)
              from run_datasets d where d.run_id = r.id) as datasets,
           exists (select 1 from run_artifacts a where a.run_id = r.id and a.kind = ${REPORT_ARTIFACT.kind}) as reported
      from runs r where r.id = ${runId}`);
  return { runStatus: row!.run_status, datasets: row!.datasets, reported: row!.reported };
}

/** Whether the run is at or past the trial's point; every condition only ever turns true. */
function reached(trial: Trial, s: Snapshot): boolean {
  const done = s.datasets.reduce((n, d) => n + d.done, 0);
  const ended = TERMINAL_STATUSES.includes(s.runStatus);
  switch (trial.target) {
    case 'report':
      return ended;
    case 'dataset finish':
      return ended || s.datasets[0]!.done >= s.datasets[0]!.total;
    default:
      return ended || done >= trial.fraction * TOTAL;
  }
}

/** Where the run really was when the worker died, in words for the trial log. */
function describePoint(s: Snapshot): string {
  if (TERMINAL_STATUSES.includes(s.runStatus))
    return s.reported ? `after the report (run ${s.runStatus})` : `writing the report (run ${s.runStatus})`;
  const finishing = s.datasets.findIndex((d) => d.status === 'running' && d.done >= d.total);
  if (finishing >= 0)
    return `finishing dataset ${finishing + 1} (${s.datasets[finishing]!.done}/${s.datasets[finishing]!.total} stored)`;
  const current = s.datasets.findIndex((d) => d.status !== 'succeeded');
  if (current < 0) return "between the last dataset and the run's end";
  const d = s.datasets[current]!;
  return `in dataset ${current + 1} at ${d.done}/${d.total} (${d.status})`;
}

async function until(runId: string, trial: Trial, timeoutMs: number, worker: WorkerProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot;
  while (!reached(trial, (last = await snapshot(runId)))) {
    if (Date.now() > deadline) {
      throw new Error(
        `run ${runId} did not reach the ${trial.target} point within ${timeoutMs} ms (seed ${SEED}); it is ${describePoint(last)}\n--- worker output ---\n${worker.output().slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

it(`survives ${TRIALS} SIGKILLs of the worker at seeded-random points with every sample stored once (FAULT_SEED=${SEED})`, async () => {
  console.log(`[faults] worker-kill trials: FAULT_SEED=${SEED}`);
  const trials = drawTrials(seededRandom(SEED));
  const ownerId = await insertUser(stack.db);
  const datasets: FixtureDataset[] = [
    await insertArithmeticDataset(stack.db, FIRST_DATASET),
    await insertArithmeticDataset(stack.db, SECOND_DATASET, 'sums'),
  ];

  let worker = await startFaultWorker();
  workers.push(worker);
  const runIds: string[] = [];
  const log: string[] = [];
  const started = Date.now();
  for (const [n, trial] of trials.entries()) {
    // Batches of 400 are stored in groups of 200 (inferBatch's write group), so a kill can land
    // with part of a batch stored and the rest in flight; one batch per workflow execution puts
    // a continue-as-new between every two batches.
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets,
      limits: { maxConcurrency: 8 },
      batching: { samplesPerBatch: 400, batchesPerExecution: 1 },
    });
    runIds.push(runId);
    await startRunByHand(stack.temporal, runId);

    await until(runId, trial, 120_000, worker);
    if (trial.delayMs > 0 && trial.target !== 'report' && trial.target !== 'dataset finish')
      await new Promise((r) => setTimeout(r, trial.delayMs));
    await worker.kill('SIGKILL');
    expect(worker.child.signalCode, 'the worker died of SIGKILL').toBe('SIGKILL');
    const point = describePoint(await snapshot(runId));
    const line = `trial ${n + 1} (${((Date.now() - started) / 1000).toFixed(1)} s): aimed at ${trial.target}${trial.target === 'early' || trial.target === 'middle' || trial.target === 'late' ? ` (${(trial.fraction * 100).toFixed(1)}% + ${trial.delayMs} ms)` : ''}; killed ${point}`;
    log.push(line);
    console.log(`[faults] ${line}`);

    const restarting = Date.now();
    worker = await startFaultWorker();
    workers.push(worker);
    console.log(`[faults] trial ${n + 1}: new worker up in ${((Date.now() - restarting) / 1000).toFixed(1)} s`);
  }
  console.log(`[faults] all kills done at ${((Date.now() - started) / 1000).toFixed(1)} s`);

  for (const runId of runIds) {
    const status = await waitForRunEnd(stack.db, runId, 240_000);
    expect(status, `run ${runId} (seed ${SEED})`).toBe('succeeded');
  }
  console.log(`[faults] all runs ended at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const [n, runId] of runIds.entries()) {
    const account = await expectAccountedFor(stack.db, runId);
    expect(
      account.datasets.map((d) => [d.status, d.rows, d.scored]),
      `trial ${n + 1}: ${log[n]} (seed ${SEED})`,
    ).toEqual([
      ['succeeded', FIRST_DATASET, FIRST_DATASET],
      ['succeeded', SECOND_DATASET, SECOND_DATASET],
    ]);
    // The reference model is always right here: a score short of 1 would mean a lost or garbled answer.
    expect(account.view.datasets.map((d) => d.metrics!.score)).toEqual([1, 1]);
  }
}, 900_000);
