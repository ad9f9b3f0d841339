/**
 * Load held: 200 evaluations created by ten users through the real API, then fifty formal
 * runs launched at once and executed by a real worker process against the stand-in model (with
 * latency). The API is polled all the while and every request is timed; the test asserts that
 * every run succeeds with each sample stored exactly once and that nothing stalled (progress is
 * counted per poll, never timed: see STALL_ROUNDS), and prints the API's latency percentiles
 * (reported, not asserted: the machine is shared).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inArray, sql } from 'drizzle-orm';
import { generateArithBasic } from '../../datasets/builtin/arithBasic';
import { runDatasets, sampleResults } from '../../db/schema';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { describeLatency, LatencyRecorder, mapConcurrent } from '../support/latency';
import { ProgressWatch } from '../support/progressWatch';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import proto from '@temporalio/proto';
import { workflowIds } from '../../temporal.config';

const USERS = 10;
const EVALUATIONS_PER_USER = 20;
/** The default monthly formal quota: ten users at five launches each make the fifty runs. */
const RUNS_PER_USER = 5;
const SAMPLES = 30;
/**
 * Poll rounds in a row in which no unfinished run moved (a new status or a new finished sample)
 * before the test calls it a stall. Counting rounds in which nothing at all moved, not one run's
 * streak, keeps the bound independent of how long a run waits its turn; a stuck run is caught once
 * the others have finished and it is left alone. Rounds are paced (ROUND_PAUSE_MS after each, so
 * one takes ~0.5–1.5 s). Seen on the shared 2-core machine: the last run's first activity
 * (beginRun) waiting ~60 s on the runs queue for a worker while the worker was idle, i.e. up to
 * ~240 unpaced rounds with nothing moving; 300 paced rounds is several minutes.
 */
const STALL_ROUNDS = 300;
const ROUND_PAUSE_MS = 400;
const TERMINAL = ['succeeded', 'failed', 'stopped'];
/** Polls in flight at once: a few dashboards, not a queue the poller itself builds up. */
const POLLERS = 4;

let api: TestApi;
let model: ReferenceModel;
let worker: WorkerProcess;

beforeAll(async () => {
  model = await startReferenceModel({ port: 0, knobs: { skill: 1, latencyMs: 15, jitterMs: 10 } });
  api = await startApi();
  // Every run's batch holds an inference slot for its whole (short) life: all fifty may be in flight at once.
  worker = await startWorkerProcess({ PROCTOR_INFERENCE_SLOTS: '64', PROCTOR_WORKER_QUEUES: 'runs,inference' });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await api?.close();
  await model?.close();
});

it(
  'holds 200 evaluations and 50 concurrent formal runs: every run succeeds, every sample stored once, none stalls',
  { timeout: 600_000 },
  async () => {
    const latency = new LatencyRecorder();
    const timed = (method: string, path: string, options?: Parameters<TestApi['request']>[2]) =>
      latency.time(() => api.request(method, path, options));

    const users = await Promise.all(Array.from({ length: USERS }, () => api.createUser()));
    const jsonl = generateArithBasic(SAMPLES)
      .map((item, i) => JSON.stringify({ ...item, id: `q${i}` }))
      .join('\n');
    const evaluations: { key: string; id: string }[] = [];
    await Promise.all(
      users.map(async (user) => {
        const datasetId = `load-${randomUUID().slice(0, 8)}`;
        const registered = await timed('POST', '/v1/datasets', {
          key: user.apiKey,
          body: {
            id: datasetId,
            name: 'load arithmetic',
            domain: 'nlp',
            task: 'arithmetic',
            metric: 'exact_match',
            jsonl,
          },
        });
        expect(registered.status, registered.text).toBe(201);
        for (let i = 0; i < EVALUATIONS_PER_USER; i++) {
          const created = await timed('POST', '/v1/evaluations', {
            key: user.apiKey,
            body: nlpEvaluationBody({
              datasets: [datasetId],
              deployment: {
                method: 'api',
                endpoint: model.url,
                onlineModelName: 'proctor-reference',
                apiKey: `sk-load-${randomUUID()}`,
                apiMode: 'chat',
              },
              limits: { maxConcurrency: 4, maxRetryPerQuery: 3, requestTimeoutMs: 30_000 },
            }),
          });
          expect(created.status, created.text).toBe(201);
          evaluations.push({ key: user.apiKey, id: created.body.id });
        }
      }),
    );
    expect(evaluations).toHaveLength(USERS * EVALUATIONS_PER_USER);

    // Fifty launches sent together: the first five evaluations of each user.
    const toLaunch = users.flatMap((user) => evaluations.filter((e) => e.key === user.apiKey).slice(0, RUNS_PER_USER));
    const launched = await Promise.all(
      toLaunch.map((e) =>
        timed('POST', `/v1/evaluations/${e.id}/runs`, { key: e.key, headers: { 'Idempotency-Key': randomUUID() } }),
      ),
    );
    expect(launched.map((l) => l.status)).toEqual(Array(toLaunch.length).fill(202));
    const runs = launched.map((l, i) => ({ runId: l.body.runId as string, key: toLaunch[i]!.key }));

    const watch = new ProgressWatch();
    const final = new Map<string, { status: string; done: number; total: number }>();
    let rounds = 0;
    let stillRounds = 0;
    let maxStill = 0;
    let stillAt = '';
    while (final.size < runs.length) {
      rounds += 1;
      const open = runs.filter((r) => !final.has(r.runId));
      // Each round reads every unfinished run (four at a time), lists evaluations and reads the caller, as dashboards would.
      const [views] = await Promise.all([
        mapConcurrent(open, POLLERS, (r) => timed('GET', `/v1/runs/${r.runId}`, { key: r.key })),
        timed('GET', '/v1/evaluations?limit=50', { key: users[rounds % USERS]!.apiKey }),
        timed('GET', '/v1/me', { key: users[rounds % USERS]!.apiKey }),
      ]);
      let moved = false;
      views.forEach((view, i) => {
        const { runId } = open[i]!;
        expect(view.status, view.text).toBe(200);
        if (watch.observe(runId, { status: view.body.status, done: view.body.progress.done }) === 0) moved = true;
        if (TERMINAL.includes(view.body.status))
          final.set(runId, {
            status: view.body.status,
            done: view.body.progress.done,
            total: view.body.progress.total,
          });
      });
      stillRounds = moved ? 0 : stillRounds + 1;
      if (stillRounds > maxStill) {
        maxStill = stillRounds;
        const states = new Map<string, number>();
        for (const view of views)
          states.set(
            `${view.body.status}:${view.body.progress.done}`,
            (states.get(`${view.body.status}:${view.body.progress.done}`) ?? 0) + 1,
          );
        stillAt = [...states].map(([state, n]) => `${n}× ${state}`).join(', ');
      }
      if (stillRounds > STALL_ROUNDS) {
        const stuck = runs.filter((r) => !final.has(r.runId));
        throw new Error(
          `no run moved over ${stillRounds} poll rounds; ${stuck.length} unfinished:\n${await whereItStands(stuck[0]!.runId)}`,
        );
      }
      await sleep(ROUND_PAUSE_MS);
    }

    const runIds = runs.map((r) => r.runId);
    expect([...final.values()].filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect([...final.values()].every((r) => r.done === SAMPLES && r.total === SAMPLES)).toBe(true);
    const stored = await api.deps.db
      .select({
        runId: sampleResults.runId,
        rows: sql<number>`count(*)::int`,
        samples: sql<number>`count(distinct ${sampleResults.sampleIdx})::int`,
      })
      .from(sampleResults)
      .where(inArray(sampleResults.runId, runIds))
      .groupBy(sampleResults.runId);
    expect(stored).toHaveLength(runIds.length);
    expect(stored.every((s) => s.rows === SAMPLES && s.samples === SAMPLES)).toBe(true);
    const counters = await api.deps.db
      .select({ done: runDatasets.done, failed: runDatasets.failed })
      .from(runDatasets)
      .where(inArray(runDatasets.runId, runIds));
    expect(counters.every((c) => c.done === SAMPLES && c.failed === 0)).toBe(true);

    const summary = latency.summary();
    const worst = watch.worst();
    const worstHistory = worst.runId ? await historyDigest(worst.runId) : '';
    process.stdout.write(
      `\n[load] ${evaluations.length} evaluations, ${runs.length} formal runs of ${SAMPLES} samples at once; ${rounds} poll rounds; ` +
        `longest wait of one run without progress ${worst.polls} polls (at ${worst.state}); rounds in a row with no run moving at most ${maxStill} (bound ${STALL_ROUNDS})${stillAt ? `, at ${stillAt}` : ''}\n` +
        `[load] the run that waited longest: ${worstHistory}\n` +
        `[load] API latency over ${describeLatency(summary)}\n`,
    );
  },
);

/** For a stalled run's failure message: its workflows' state and pending activities, and the worker's last words. */
async function whereItStands(runId: string): Promise<string> {
  const lines: string[] = [];
  for await (const wf of api.deps.temporal.workflow.list({
    query: `WorkflowId STARTS_WITH '${workflowIds.run(runId)}'`,
  })) {
    const described = await api.deps.temporal.workflow.getHandle(wf.workflowId, wf.runId).describe();
    const pending =
      described.raw.pendingActivities?.map((a) => `${a.activityType?.name} (${a.state}, attempt ${a.attempt})`) ?? [];
    lines.push(
      `${wf.workflowId}: ${wf.status.name}, ${wf.historyLength} events, pending: ${pending.join(', ') || 'none'}`,
    );
  }
  return `${lines.join('\n')}\n--- worker output (tail) ---\n${worker.output().slice(-4000)}`;
}

/** What a run's workflow went through: event types in order (repeats collapsed), with any failure or timeout said. */
async function historyDigest(runId: string): Promise<string> {
  const history = await api.deps.temporal.workflow.getHandle(workflowIds.run(runId)).fetchHistory();
  const events = history.events ?? [];
  const start = Number(events[0]?.eventTime?.seconds ?? 0);
  const steps: string[] = [];
  for (const e of events) {
    const type = String(proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]).replace(/^EVENT_TYPE_/, '');
    const at = Number(e.eventTime?.seconds ?? 0) - start;
    const failure =
      e.activityTaskFailedEventAttributes?.failure?.message ?? e.workflowTaskFailedEventAttributes?.failure?.message;
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    steps.push(`${at}s ${type}${activity ? `(${activity})` : ''}${failure ? `: ${failure}` : ''}`);
  }
  return steps.join(' | ');
}
