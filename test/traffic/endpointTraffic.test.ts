/**
 * Rate limits end to end, on real worker processes against the stand-in's token bucket (429 with
 * Retry-After over R requests a second):
 *
 * - one run settles near R with few 429s (its adaptive concurrency comes down from maxConcurrency);
 * - two runs at once against the same endpoint and key, in one worker process, share R between
 *   them (they pass one adaptive gate);
 * - an admin's requests-per-minute and concurrent-request budget holds across two worker
 *   processes (each takes one batch at a time, so the two runs' batches run in different processes).
 *
 * Rates are counted from the stand-in's request log (answers with status 200 per second of the
 * steady part of the run) and compared with R as ratios; nothing here depends on how fast the
 * machine is, beyond being able to make R requests a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, like } from 'drizzle-orm';
import { endpointBudgetLeases, endpointBudgets, runDatasets, runLogs } from '../../db/schema';
import { startReferenceModel, type ReferenceModel, type RequestLogEntry } from '../../stack/referenceModel/server';
import type { Knobs } from '../../stack/referenceModel/knobs';
import { sealSecret } from '../../db/secretBox';
import { endpointIdentity } from '../../db/endpointIdentity';
import { putEndpointBudget, deleteEndpointBudget } from '../../db/queries/endpointBudgets';
import { readRunTraffic } from '../../db/queries/runTraffic';
import { insertArithmeticDataset, insertRun } from '../support/runFixtures';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';
import { requireEnv } from '../support/env';
import { waitForRunEnd } from '../faults/accounting';

const API_KEY = 'sk-traffic-test-0123456789';
const secretKey = () => Buffer.from(requireEnv('PROCTOR_SECRET_KEY'), 'base64');

const stack = useTestStack({ api: true });
const workers: Partial<Record<'runs' | 'inference' | 'a' | 'b', WorkerProcess>> = {};
const models: ReferenceModel[] = [];
let owner: { id: string; apiKey: string };

beforeAll(async () => {
  [workers.runs, workers.inference] = await Promise.all([
    startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'runs' }),
    startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'inference', PROCTOR_INFERENCE_SLOTS: '4' }),
  ]);
  owner = await stack.api.createUser();
}, 240_000);

afterAll(async () => {
  for (const w of Object.values(workers)) await w?.kill('SIGTERM');
  for (const m of models) await m.close();
});

async function model(knobs: Partial<Knobs>): Promise<ReferenceModel> {
  const m = await startReferenceModel({ port: 0, knobs: { skill: 1, requiredApiKey: API_KEY, ...knobs } });
  models.push(m);
  return m;
}

async function launch(endpoint: string, samples: number, maxConcurrency: number): Promise<string> {
  const dataset = await insertArithmeticDataset(stack.db, samples);
  const runId = await insertRun(stack.db, {
    ownerId: owner.id,
    endpoint,
    datasets: [dataset],
    apiKeyCipher: sealSecret(secretKey(), API_KEY),
    limits: { maxConcurrency, maxRetryPerQuery: 6, maxRetryDelayMs: 5_000 },
    batching: { samplesPerBatch: Math.ceil(samples / 3), batchesPerExecution: 100 },
  });
  await startRunByHand(stack.temporal, runId);
  return runId;
}

async function expectAllScored(runId: string): Promise<void> {
  expect(await waitForRunEnd(stack.db, runId, 240_000)).toBe('succeeded');
  const [d] = await stack.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
  expect(d!.failed).toBe(0);
  expect(d!.done).toBe(d!.total);
}

/** Answers (200) a second over [from, to] (ms since the epoch), counted by arrival. */
function answeredRate(log: RequestLogEntry[], from: number, to: number): number {
  const n = log.filter((e) => e.status === 200 && e.receivedAt >= from && e.receivedAt <= to).length;
  return n / ((to - from) / 1000);
}

/** The part of the log after the first fifth of its span: the limit has settled by then. */
function steadyWindow(log: RequestLogEntry[]): [number, number] {
  const first = log[0]!.receivedAt;
  const last = log[log.length - 1]!.receivedAt;
  return [first + (last - first) / 5, last];
}

function refusedShare(log: RequestLogEntry[]): number {
  return log.filter((e) => e.status === 429).length / log.length;
}

describe('adaptive concurrency against a token bucket', () => {
  const R = 40;

  it('one run settles near R requests a second with few 429s, and the run records its limit', async () => {
    const m = await model({ bucketRatePerSecond: R, latencyMs: 500 });
    const runId = await launch(m.url, 480, 64);
    await expectAllScored(runId);

    const log = m.requestLog();
    const [from, to] = steadyWindow(log);
    const rate = answeredRate(log, from, to);
    const share = refusedShare(log);
    console.log(
      `[traffic] one run: ${rate.toFixed(1)} answers/s against R=${R}, 429 share ${(share * 100).toFixed(1)} %`,
    );
    // Without adaptation 64 in flight at 500 ms would ask 128 a second and be refused ~70 % of the time.
    expect(share).toBeLessThan(0.1);
    expect(rate / R).toBeGreaterThan(0.7);
    expect(rate / R).toBeLessThan(1.1);

    // The run view shows the limit and every 429 the endpoint sent.
    const view = await stack.api.request('GET', `/v1/runs/${runId}`, { key: owner.apiKey });
    expect(view.status, view.text).toBe(200);
    const traffic = view.body.progress.traffic;
    expect(traffic).toMatchObject({ maxConcurrency: 64, rateLimited: log.filter((e) => e.status === 429).length });
    expect(traffic.concurrencyLimit).toBeLessThan(64);
    const lines = await stack.db
      .select({ message: runLogs.message })
      .from(runLogs)
      .where(and(eq(runLogs.runId, runId), like(runLogs.dedupeKey, 'traffic:%')));
    expect(lines.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^endpoint concurrency 64 → \d+ of 64 \(the endpoint answers 429/),
    );
    // A line per halving or doubling, not per request.
    expect(lines.length).toBeLessThan(20);
  }, 300_000);

  it('two runs at once against the same endpoint and key, in one process, share R between them', async () => {
    const m = await model({ bucketRatePerSecond: R, latencyMs: 500 });
    const [a, b] = await Promise.all([launch(m.url, 300, 64), launch(m.url, 300, 64)]);
    await Promise.all([expectAllScored(a), expectAllScored(b)]);

    const log = m.requestLog();
    const [from, to] = steadyWindow(log);
    const combined = answeredRate(log, from, to);
    const share = refusedShare(log);
    console.log(
      `[traffic] two runs: ${combined.toFixed(1)} answers/s together against R=${R}, 429 share ${(share * 100).toFixed(1)} %`,
    );
    expect(share).toBeLessThan(0.1);
    expect(combined / R).toBeGreaterThan(0.7);
    expect(combined / R).toBeLessThan(1.1);
    const [ta, tb] = await Promise.all([readRunTraffic(stack.db, a), readRunTraffic(stack.db, b)]);
    expect(ta!.concurrencyLimit).toBeLessThan(64);
    expect(tb!.concurrencyLimit).toBeLessThan(64);
  }, 300_000);
});

describe('a configured endpoint budget', () => {
  beforeAll(async () => {
    // One batch at a time per process: the two runs' batches in flight together are in two processes.
    await workers.inference?.kill('SIGTERM');
    delete workers.inference;
    [workers.a, workers.b] = await Promise.all([
      startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'inference', PROCTOR_INFERENCE_SLOTS: '1' }),
      startWorkerProcess({ PROCTOR_WORKER_QUEUES: 'inference', PROCTOR_INFERENCE_SLOTS: '1' }),
    ]);
  }, 240_000);

  it('holds requests a minute and concurrent requests across two worker processes, with no 429', async () => {
    const PER_MINUTE = 1200;
    const MAX_CONCURRENT = 6;
    // The endpoint itself takes anything: only the budget keeps the runs down.
    const m = await model({ latencyMs: 100 });
    const identity = endpointIdentity(secretKey(), m.url, API_KEY);
    const budget = await putEndpointBudget(
      stack.db,
      identity,
      { requestsPerMinute: PER_MINUTE, tokensPerMinute: null, maxConcurrent: MAX_CONCURRENT },
      null,
    );
    try {
      const runs = await Promise.all([launch(m.url, 150, 32), launch(m.url, 150, 32)]);
      await Promise.all(runs.map(expectAllScored));

      const log = m.requestLog();
      expect(log.filter((e) => e.status === 429)).toHaveLength(0);
      const [from, to] = steadyWindow(log);
      const rate = answeredRate(log, from, to);
      const perSecond = PER_MINUTE / 60;
      console.log(`[traffic] budget: ${rate.toFixed(1)} requests/s against ${perSecond}/s`);
      const t0 = log[0]!.receivedAt;
      const perSec: number[] = [];
      for (const e of log)
        perSec[Math.floor((e.receivedAt - t0) / 1000)] = (perSec[Math.floor((e.receivedAt - t0) / 1000)] ?? 0) + 1;
      console.log(`[traffic] budget per second: ${perSec.join(' ')}`);
      expect(rate / perSecond).toBeGreaterThan(0.7);
      expect(rate / perSecond).toBeLessThan(1.1);

      // At no moment were more requests in flight at the endpoint than the budget allows.
      const edges = log.flatMap((e) => [
        { at: e.receivedAt, d: 1 },
        { at: e.endedAt!, d: -1 },
      ]);
      edges.sort((x, y) => x.at - y.at || x.d - y.d);
      let inFlight = 0;
      let most = 0;
      for (const e of edges) most = Math.max(most, (inFlight += e.d));
      expect(most).toBeLessThanOrEqual(MAX_CONCURRENT);

      // Both processes held slots on the budget, and what keeping it cost the database.
      const holders = await stack.db
        .select({ holder: endpointBudgetLeases.holder })
        .from(endpointBudgetLeases)
        .where(eq(endpointBudgetLeases.budgetId, budget.id));
      expect(new Set(holders.map((h) => h.holder)).size).toBeGreaterThanOrEqual(2);
      const [row] = await stack.db
        .select({ takes: endpointBudgets.takes })
        .from(endpointBudgets)
        .where(eq(endpointBudgets.id, budget.id));
      // Takes grow with time, not with requests: each process asks at most every 50 ms (sooner only when
      // one of its own slots comes free while slots are what it waits for).
      const seconds = (log[log.length - 1]!.receivedAt - log[0]!.receivedAt) / 1000;
      console.log(
        `[traffic] budget takes: ${row!.takes} for ${log.length} requests in ${seconds.toFixed(1)} s (${(row!.takes / seconds).toFixed(1)}/s, 2 processes)`,
      );
      expect(row!.takes / seconds).toBeLessThan(2 * 25);
    } finally {
      await deleteEndpointBudget(stack.db, budget.id);
    }
  }, 300_000);
});
