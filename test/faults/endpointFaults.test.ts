/**
 * The model endpoint misbehaving, one run per fault, all through the real run workflow on a real
 * worker process: 500s, 429s with Retry-After, requests that hang past the timeout, truncated and
 * malformed JSON, empty choices, and bodies that crawl in within the timeout and past it; then an
 * endpoint that is down for a whole dataset and back for the next, and one that is gone for good.
 *
 * The stand-in's faults are a pure function of (seed, prompt, attempt), so each sample's fate is
 * known before the run: scored on the first attempt that does not fault, or failed when every
 * attempt the retry limit allows faults — with a reason naming that fault. The test checks each
 * row against that prediction, and the stand-in's own request log for what the client did
 * (how long it waited after a 429, when it hung up on a slow answer). The knob seed is the suite's
 * FAULT_SEED, printed with every test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, asc, eq } from 'drizzle-orm';
import { datasetItems, runDatasets, sampleResults } from '../../db/schema';
import { startReferenceModel, type ReferenceModel, type RequestLogEntry } from '../../stack/referenceModel/server';
import { chooseFault, type Fault, type Knobs } from '../../stack/referenceModel/knobs';
import type { RunLimits } from '../../contracts/evaluation';
import { insertArithmeticDataset, insertRun, insertUser, type FixtureDataset } from '../support/runFixtures';
import type { WorkerProcess } from '../support/workerProcess';
import { freePort } from '../support/ports';
import { expectAccountedFor, waitForRunEnd } from './accounting';
import { faultSeed } from './faultSeed';
import { startFaultWorker } from './faultWorker';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const SEED = faultSeed();
const SAMPLES = 80;
const MAX_RETRIES = 1;
const TIMEOUT_MS = 1000;
/** Timers never fire early, but the two ends of a connection see its close a moment apart. */
const CLOCK_SLACK_MS = 25;

let worker: WorkerProcess;
let ownerId: string;
let dataset: FixtureDataset;
const models: ReferenceModel[] = [];

const stack = useTestStack({ db: true, temporal: true });

beforeAll(async () => {
  console.log(`[faults] endpoint faults: FAULT_SEED=${SEED}`);
  worker = await startFaultWorker({ PROCTOR_INFERENCE_SLOTS: '16' });
  ownerId = await insertUser(stack.db);
  dataset = await insertArithmeticDataset(stack.db, SAMPLES);
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  for (const m of models) await m.close();
});

async function model(knobs: Partial<Knobs>): Promise<ReferenceModel> {
  const m = await startReferenceModel({ port: 0, knobs: { skill: 1, latencyMs: 5, seed: SEED | 0, ...knobs } });
  models.push(m);
  return m;
}

async function launch(
  endpoint: string,
  datasets: FixtureDataset[],
  limits: Partial<RunLimits>,
  type: 'formal' | 'verification' = 'formal',
): Promise<string> {
  const runId = await insertRun(stack.db, {
    ownerId,
    type,
    endpoint,
    datasets,
    limits: { maxConcurrency: 8, maxRetryPerQuery: MAX_RETRIES, ...limits },
    batching: { samplesPerBatch: 40, batchesPerExecution: 100 },
  });
  await startRunByHand(stack.temporal, runId);
  return runId;
}

async function prompts(datasetId: string): Promise<Map<number, string>> {
  const rows = await stack.db
    .select({ idx: datasetItems.idx, prompt: datasetItems.prompt })
    .from(datasetItems)
    .where(eq(datasetItems.datasetId, datasetId));
  return new Map(rows.map((r) => [r.idx, r.prompt]));
}

async function rowsOf(runId: string, datasetId: string) {
  return stack.db
    .select({
      idx: sampleResults.sampleIdx,
      status: sampleResults.status,
      error: sampleResults.error,
      attempts: sampleResults.attempts,
      score: sampleResults.score,
    })
    .from(sampleResults)
    .where(and(eq(sampleResults.runId, runId), eq(sampleResults.datasetId, datasetId)))
    .orderBy(asc(sampleResults.sampleIdx));
}

interface FaultCase {
  name: string;
  knobs: Partial<Knobs>;
  limits?: Partial<RunLimits>;
  /** What a failed sample's reason must say, given the fault of its last attempt. */
  reason: RegExp;
  /** Whether this fault fails the attempt it hits (a slow body fails only past the timeout). */
  fails?: (fault: Fault) => boolean;
  /** Checks on the stand-in's request log. */
  log?: (log: RequestLogEntry[]) => void;
}

const CASES: FaultCase[] = [
  {
    name: 'HTTP 500 at random',
    knobs: { errorRate: 0.35, errorStatus: 500 },
    reason: /^HTTP 500 from the model endpoint: injected failure/,
  },
  {
    name: 'HTTP 429 with Retry-After',
    knobs: { rateLimitRate: 0.35, retryAfterSeconds: 1 },
    reason: /^HTTP 429 from the model endpoint: Rate limit reached/,
    log: (log) => {
      // The retry of a prompt refused with 429 came no sooner than Retry-After said.
      let checked = 0;
      for (const [i, refused] of log.entries()) {
        if (refused.status !== 429) continue;
        const next = log.slice(i + 1).find((e) => e.prompt === refused.prompt);
        if (!next) continue;
        expect(next.receivedAt - refused.endedAt!, `retry of "${refused.prompt}" after a 429`).toBeGreaterThanOrEqual(
          1000 - CLOCK_SLACK_MS,
        );
        checked += 1;
      }
      expect(checked, 'retries after a 429 seen').toBeGreaterThan(0);
    },
  },
  {
    name: 'requests that hang past the timeout',
    knobs: { hangRate: 0.35 },
    limits: { requestTimeoutMs: TIMEOUT_MS },
    reason: new RegExp(`^no response within ${TIMEOUT_MS} ms$`),
    log: (log) => {
      const hung = log.filter((e) => e.fault === 'hang');
      expect(hung.length).toBeGreaterThan(0);
      // The client gave up: the server never answers these. (Its timer starts before the request
      // reaches the server, so the server sees a little less than the timeout; the reason on the
      // row is what says which timeout it was.)
      for (const e of hung) expect([e.status, e.closedBy]).toEqual([null, 'client']);
    },
  },
  {
    name: 'truncated JSON',
    knobs: { truncatedRate: 0.35 },
    reason: /^malformed response: the body was cut off before its end|^malformed response: the body is not valid JSON/,
  },
  { name: 'malformed JSON', knobs: { malformedRate: 0.35 }, reason: /^malformed response: the body is not valid JSON/ },
  { name: 'empty choices', knobs: { emptyChoicesRate: 0.35 }, reason: /^response had no choices$/ },
  {
    name: 'slow bodies that arrive within the timeout',
    knobs: { slowBodyRate: 0.35, slowBodyMs: 1500 },
    limits: { requestTimeoutMs: 20_000 },
    reason: /^$/,
    fails: () => false,
    log: (log) => {
      const slow = log.filter((e) => e.fault === 'slow_body');
      expect(slow.length).toBeGreaterThan(0);
      for (const e of slow) {
        expect([e.status, e.closedBy]).toEqual([200, 'server']);
        expect(e.endedAt! - e.receivedAt).toBeGreaterThanOrEqual(1500 - CLOCK_SLACK_MS);
      }
    },
  },
  {
    name: 'slow bodies that would outlast the timeout',
    knobs: { slowBodyRate: 0.35, slowBodyMs: 120_000 },
    limits: { requestTimeoutMs: TIMEOUT_MS },
    reason: new RegExp(`^no response within ${TIMEOUT_MS} ms$`),
    log: (log) => {
      const slow = log.filter((e) => e.fault === 'slow_body');
      expect(slow.length).toBeGreaterThan(0);
      // The headers came at once; the client hung up on the crawling body long before its end:
      // the request timeout covers the body, not only the wait for headers.
      for (const e of slow) {
        expect([e.status, e.closedBy]).toEqual([200, 'client']);
        expect(e.endedAt! - e.receivedAt).toBeLessThan(60_000);
      }
    },
  },
];

describe.concurrent(`endpoint faults (FAULT_SEED=${SEED})`, () => {
  for (const c of CASES) {
    it(`${c.name}: every sample stored once, scored after retries or failed naming the fault`, async () => {
      const m = await model(c.knobs);
      const runId = await launch(m.url, [dataset], c.limits ?? {});
      const status = await waitForRunEnd(stack.db, runId, 240_000, c.name);

      const account = await expectAccountedFor(stack.db, runId);
      expect(status).toBe('succeeded');
      const knobs = m.knobs();
      const fails = c.fails ?? (() => true);
      const byIdx = await prompts(dataset.id);
      const rows = await rowsOf(runId, dataset.id);
      expect(rows).toHaveLength(SAMPLES);
      let failed = 0;
      let retried = 0;
      for (const row of rows) {
        const prompt = byIdx.get(row.idx)!;
        // The prediction: attempts go on while they fault, up to 1 + MAX_RETRIES of them.
        let attempts = 0;
        let last: Fault | null;
        do {
          attempts += 1;
          last = chooseFault(knobs, prompt, attempts);
        } while (last && fails(last) && attempts <= MAX_RETRIES);
        const expectFailure = last !== null && fails(last);
        const label = `${c.name}: sample ${row.idx} (seed ${SEED})`;
        expect({ status: row.status, attempts: row.attempts }, label).toEqual({
          status: expectFailure ? 'failed' : 'scored',
          attempts,
        });
        if (expectFailure) {
          failed += 1;
          expect(row.error, label).toMatch(c.reason);
        } else {
          expect([row.error, row.score], label).toEqual([null, 1]);
        }
        if (attempts > 1) retried += 1;
      }
      // Every request the stand-in saw belongs to a stored attempt: none lost, none repeated.
      const log = m.requestLog();
      expect(log.length, `${c.name}: requests received vs attempts stored`).toBe(
        rows.reduce((n, r) => n + r.attempts, 0),
      );
      c.log?.(log);
      expect(account.datasets[0]!.failed).toBe(failed);
      console.log(`[faults] ${c.name}: ${SAMPLES - failed} scored (${retried} after a retry), ${failed} failed`);
    }, 300_000);
  }

  it('an endpoint down for a whole dataset fails that dataset with a reason, and the run goes on', async () => {
    const m = await model({ errorRate: 1, errorStatus: 503 });
    const small = await insertArithmeticDataset(stack.db, 16, 'down');
    const runId = await launch(m.url, [small, dataset], {});
    // Back up once the first dataset has ended: a provider's outage, over.
    const deadline = Date.now() + 240_000;
    for (;;) {
      const [first] = await stack.db
        .select({ status: runDatasets.status })
        .from(runDatasets)
        .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, small.id)));
      if (first!.status !== 'running' && first!.status !== 'queued') break;
      if (Date.now() > deadline) throw new Error('the first dataset never ended');
      await new Promise((r) => setTimeout(r, 50));
    }
    m.setKnobs({ errorRate: 0 });

    expect(await waitForRunEnd(stack.db, runId, 240_000, 'down then back')).toBe('succeeded');
    const account = await expectAccountedFor(stack.db, runId);
    const [down, back] = account.datasets;
    expect(down).toMatchObject({ status: 'failed', rows: 16, failed: 16, error: 'all 16 sample(s) failed' });
    expect([...down!.reasons.keys()].every((r) => /^HTTP 503 from the model endpoint: injected failure/.test(r))).toBe(
      true,
    );
    expect(back).toMatchObject({ status: 'succeeded', rows: SAMPLES });
  }, 300_000);

  it('an endpoint gone for good ends its dataset early with the reason, and a run with no dataset left fails saying so', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}/v1`;
    // A verification: a formal run would stop at its readiness wait before any dataset (test/api/endpointReadiness.test.ts).
    const runId = await launch(nobody, [dataset], {}, 'verification');
    expect(await waitForRunEnd(stack.db, runId, 240_000, 'endpoint gone')).toBe('failed');
    const account = await expectAccountedFor(stack.db, runId, { mayEndEarly: true });
    const [gone] = account.datasets;
    expect(gone!.status).toBe('failed');
    expect(gone!.error).toMatch(
      /^endpoint unusable: \d+ consecutive samples failed after retries \(connection refused \(ECONNREFUSED\)\)$/,
    );
    // Every sample has one failed row: those asked before the breaker tripped name the refused
    // connection, the rest say they were never asked and why.
    expect([gone!.rows, gone!.failed]).toEqual([SAMPLES, SAMPLES]);
    expect([...gone!.reasons.keys()].sort()).toEqual([
      'connection refused (ECONNREFUSED)',
      `not attempted: ${gone!.error}`,
    ]);
    expect(account.error).toBe('no dataset succeeded');
  }, 300_000);
});
