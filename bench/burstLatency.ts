/**
 * Burst latency: N small formal runs launched at once through the real stack (API, one worker
 * process, dev server), then every activity task's schedule-to-start latency read back from the
 * Temporal histories: ActivityTaskScheduled's time to the time of the ActivityTaskStarted of the
 * attempt that ran (a later attempt's wait includes the attempts before it, which is what a run
 * waited). Prints the max and p99 and the worst tasks with their attempt and the previous
 * attempt's failure, which says whether a task was lost (a start-to-close timeout on attempt 1).
 *
 *   node --import tsx bench/burstLatency.ts [--runs=300] [--users=30] [--samples=5] [--latency-ms=15] [--slots=64] [--mode=both|baseline|tuned]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import proto from '@temporalio/proto';
import { loadAverage, numberArg, printTable } from './benchReport';
import { startBenchStack, type BenchStack } from './benchStack';
import { createManyEvaluations } from './manyEvaluations';

const RUNS = numberArg('runs', 300);
const USERS = numberArg('users', 30);
const SAMPLES = numberArg('samples', 5);
const LATENCY_MS = numberArg('latency-ms', 15);
const SLOTS = numberArg('slots', 64);
const log = (line: string) => process.stderr.write(`[burst] ${line}\n`);
const EventType = proto.temporal.api.enums.v1.EventType;

export interface TaskWait {
  workflowId: string;
  activity: string;
  queue: string;
  waitMs: number;
  attempt: number;
  lastFailure: string;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** Every activity task of every workflow execution in the namespace, with how long it waited. */
export async function taskWaits(stack: BenchStack): Promise<{ activities: TaskWait[]; workflowTasks: TaskWait[] }> {
  const waits: TaskWait[] = [];
  const workflowTaskWaits: TaskWait[] = [];
  for await (const wf of stack.temporal.workflow.list()) {
    const history = await stack.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const scheduled = new Map<number, { at: number; activity: string; queue: string }>();
    for (const e of history.events ?? []) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        const a = e.activityTaskScheduledEventAttributes!;
        scheduled.set(Number(e.eventId), {
          at: ms(e.eventTime),
          activity: a.activityType?.name ?? '?',
          queue: a.taskQueue?.name ?? '?',
        });
      } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) {
        scheduled.set(Number(e.eventId), {
          at: ms(e.eventTime),
          activity: '(workflow task)',
          queue: e.workflowTaskScheduledEventAttributes?.taskQueue?.name ?? '?',
        });
      } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        const a = e.workflowTaskStartedEventAttributes!;
        const s = scheduled.get(Number(a.scheduledEventId));
        if (s)
          workflowTaskWaits.push({
            workflowId: wf.workflowId,
            activity: s.activity,
            queue: s.queue,
            waitMs: ms(e.eventTime) - s.at,
            attempt: 1,
            lastFailure: '',
          });
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const a = e.activityTaskStartedEventAttributes!;
        const s = scheduled.get(Number(a.scheduledEventId));
        if (!s) continue;
        waits.push({
          workflowId: wf.workflowId,
          activity: s.activity,
          queue: s.queue,
          waitMs: ms(e.eventTime) - s.at,
          attempt: a.attempt ?? 1,
          lastFailure: a.lastFailure?.message ?? '',
        });
      }
    }
  }
  return { activities: waits, workflowTasks: workflowTaskWaits };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface BurstResult {
  succeeded: number;
  runs: number;
  seconds: number;
  tasks: number;
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  retried: number;
  worst: TaskWait[];
  workflowTaskMaxMs: number;
  worstWorkflowTasks: TaskWait[];
  workflowTaskP99Ms: number;
  load: string;
}

async function burst(): Promise<BurstResult> {
  const stack = await startBenchStack({ log, formalQuota: 10_000 });
  try {
    const standIn = await stack.startStandIn(LATENCY_MS);
    await stack.startWorker({ PROCTOR_INFERENCE_SLOTS: String(SLOTS) });
    const { evaluations } = await createManyEvaluations(stack, {
      users: USERS,
      evaluations: RUNS,
      samples: SAMPLES,
      endpoint: standIn.url,
      prefix: 'burst',
    });
    const t0 = performance.now();
    const launched = await Promise.all(
      evaluations.map((e) => stack.request('POST', `/v1/evaluations/${e.id}/runs`, { key: e.key })),
    );
    const bad = launched.filter((l) => l.status !== 202);
    if (bad.length > 0) throw new Error(`${bad.length} launches refused, e.g. ${bad[0]!.status} ${bad[0]!.text}`);
    const runIds = launched.map((l) => l.body.runId as string);
    log(`${runIds.length} runs launched`);
    let lastLog = 0;
    for (;;) {
      const rows = (await stack.db.db.execute(sql`
        select status, count(*)::int as n from runs where id = any(${`{${runIds.join(',')}}`}::uuid[]) group by status`)) as unknown as {
        status: string;
        n: number;
      }[];
      const ended = rows
        .filter((r) => ['succeeded', 'failed', 'stopped'].includes(r.status))
        .reduce((a, r) => a + r.n, 0);
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(
          `${((performance.now() - t0) / 1000).toFixed(0)} s: ${rows.map((r) => `${r.n} ${r.status}`).join(', ')} (load ${loadAverage()})`,
        );
      }
      if (ended === runIds.length) break;
      await sleep(500);
    }
    const failed = (await stack.db.db.execute(sql`
      select status, error from runs where id = any(${`{${runIds.join(',')}}`}::uuid[]) and status <> 'succeeded' limit 3`)) as unknown as {
      status: string;
      error: string | null;
    }[];
    for (const f of failed) log(`a run ended ${f.status}: ${f.error ?? '(no error recorded)'}`);
    const [{ succeeded }] = (await stack.db.db.execute(sql`
      select count(*)::int as succeeded from runs where id = any(${`{${runIds.join(',')}}`}::uuid[]) and status = 'succeeded'`)) as unknown as {
      succeeded: number;
    }[];
    // The run workflows write their reports after the record says ended: wait for them to close.
    for (const runId of runIds)
      await stack.temporal.workflow
        .getHandle(`run-${runId}`)
        .result()
        .catch(() => {});
    const seconds = (performance.now() - t0) / 1000;
    const { activities: waits, workflowTasks } = await taskWaits(stack);
    const wft = workflowTasks.map((w) => w.waitMs).sort((a, b) => a - b);
    const sorted = waits.map((w) => w.waitMs).sort((a, b) => a - b);
    return {
      succeeded: succeeded!,
      runs: runIds.length,
      seconds,
      tasks: waits.length,
      maxMs: sorted.at(-1) ?? 0,
      p99Ms: percentile(sorted, 99),
      p50Ms: percentile(sorted, 50),
      retried: waits.filter((w) => w.attempt > 1).length,
      worst: [...waits].sort((a, b) => b.waitMs - a.waitMs).slice(0, 5),
      worstWorkflowTasks: [...workflowTasks].sort((a, b) => b.waitMs - a.waitMs).slice(0, 3),
      workflowTaskMaxMs: wft.at(-1) ?? 0,
      workflowTaskP99Ms: percentile(wft, 99),
      load: loadAverage(),
    };
  } finally {
    await stack.stop();
  }
}

const MODE = process.argv.find((a) => a.startsWith('--mode='))?.slice('--mode='.length) ?? 'both';

/** One burst on a fresh stack; `baseline` runs the dev server with its own defaults (stack/temporalServer.ts). */
async function measured(baseline: boolean): Promise<BurstResult & { loadBefore: string }> {
  const loadBefore = loadAverage();
  if (baseline) process.env.PROCTOR_TEMPORAL_DEV_SETTINGS = 'baseline';
  else delete process.env.PROCTOR_TEMPORAL_DEV_SETTINGS;
  try {
    return { ...(await burst()), loadBefore };
  } finally {
    delete process.env.PROCTOR_TEMPORAL_DEV_SETTINGS;
  }
}

const before = MODE === 'tuned' ? null : await measured(true);
const after = MODE === 'baseline' ? null : await measured(false);
const cell = (r: BurstResult | null, f: (r: BurstResult) => string) => (r ? f(r) : '—');
const ratio = (f: (r: BurstResult) => number) => (before && after && f(before) > 0 ? f(after) / f(before) : null);
printTable(
  `Burst: ${RUNS} small formal runs launched at once (${SAMPLES} samples each, L = ${LATENCY_MS} ms), schedule-to-start of every activity task`,
  [
    {
      figure: 'runs succeeded',
      measured: cell(after, (r) => `${r.succeeded}/${r.runs}`),
      baseline: cell(before, (r) => `${r.succeeded}/${r.runs}`),
      ratio: null,
      target: 'all',
      pass: after ? after.succeeded === after.runs : null,
    },
    {
      figure: 'activity schedule-to-start max',
      measured: cell(after, (r) => `${r.maxMs} ms`),
      baseline: cell(before, (r) => `${r.maxMs} ms`),
      ratio: ratio((r) => r.maxMs),
      target: 'well under the 60 s a lost task costs',
      pass: after ? after.maxMs < 30_000 : null,
    },
    {
      figure: 'activity schedule-to-start p99',
      measured: cell(after, (r) => `${r.p99Ms} ms`),
      baseline: cell(before, (r) => `${r.p99Ms} ms`),
      ratio: ratio((r) => r.p99Ms),
      target: 'info',
      pass: null,
    },
    {
      figure: 'activity schedule-to-start p50',
      measured: cell(after, (r) => `${r.p50Ms} ms`),
      baseline: cell(before, (r) => `${r.p50Ms} ms`),
      ratio: ratio((r) => r.p50Ms),
      target: 'info',
      pass: null,
    },
    {
      figure: 'activity tasks started on attempt > 1',
      measured: cell(after, (r) => `${r.retried} of ${r.tasks}`),
      baseline: cell(before, (r) => `${r.retried} of ${r.tasks}`),
      ratio: null,
      target: '0',
      pass: after ? after.retried === 0 : null,
    },
    {
      figure: 'workflow task schedule-to-start p99 / max',
      measured: cell(after, (r) => `${r.workflowTaskP99Ms} / ${r.workflowTaskMaxMs} ms`),
      baseline: cell(before, (r) => `${r.workflowTaskP99Ms} / ${r.workflowTaskMaxMs} ms`),
      ratio: ratio((r) => r.workflowTaskMaxMs),
      target: 'info',
      pass: null,
    },
    {
      figure: 'launch → last run workflow closed',
      measured: cell(after, (r) => `${r.seconds.toFixed(1)} s`),
      baseline: cell(before, (r) => `${r.seconds.toFixed(1)} s`),
      ratio: ratio((r) => r.seconds),
      target: 'info',
      pass: null,
    },
  ],
  [
    `command: node --import tsx bench/burstLatency.ts ${process.argv.slice(2).join(' ')}`.trimEnd(),
    'baseline: the dev server with its own defaults (PROCTOR_TEMPORAL_DEV_SETTINGS=baseline); measured: the settings in stack/temporalServer.ts',
    ...[
      ['baseline', before],
      ['measured', after],
    ].flatMap(([name, r]) => {
      const res = r as (BurstResult & { loadBefore: string }) | null;
      if (!res) return [];
      return [
        `${name as string}: load average (1/5/15 min) before ${res.loadBefore}, after ${res.load}`,
        ...res.worst
          .slice(0, 3)
          .map(
            (w) =>
              `${name as string} worst activity: ${w.waitMs} ms ${w.activity} on ${w.queue} (${w.workflowId}), attempt ${w.attempt}${w.lastFailure ? `, previous attempt: ${w.lastFailure}` : ''}`,
          ),
        ...res.worstWorkflowTasks
          .slice(0, 2)
          .map((w) => `${name as string} worst workflow task: ${w.waitMs} ms on ${w.queue} (${w.workflowId})`),
      ];
    }),
  ],
);
if (after && (after.maxMs >= 30_000 || after.retried > 0 || after.succeeded !== after.runs)) process.exitCode = 1;
