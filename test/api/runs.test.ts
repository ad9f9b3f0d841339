/**
 * Reading and stopping runs through HTTP: stopping (waiting, running, without a workflow, ended),
 * who may see a run, result pages and their cursors, refused query parameters, and the report's
 * availability. Workers start partway through, so a run can first be seen waiting on its queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import { runDatasets, runs } from '../../db/schema';
import { estimateSecondsLeft } from '../../db/queries/runViews';
import { TERMINAL_STATUSES, type RunView, type SampleResultView } from '../../contracts/run';
import { insertArithmeticDataset, insertRun } from '../support/runFixtures';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { startWorkers, type RunningWorkers } from '../support/temporalTestKit';
import { useTestStack } from '../support/testStack';

let workers: RunningWorkers | undefined;
let owner: { id: string; apiKey: string };
let ownerName: string;

const stack = useTestStack({ api: true, model: { skill: 1, latencyMs: 0 } });

beforeAll(async () => {
  owner = await stack.api.createUser();
  ownerName = (await stack.api.request('GET', '/v1/me', { key: owner.apiKey })).body.name;
});

// Started by a test partway through, so stopped before the API closes.
afterAll(async () => {
  await workers?.shutdown();
});

async function createEvaluation(key: string, datasetIds: string[], limits: Record<string, number> = {}) {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: datasetIds,
      deployment: { method: 'api', endpoint: stack.model.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
      limits,
    }),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function launch(key: string, evaluationId: string, kind: 'runs' | 'verifications', body?: unknown) {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.runId as string;
}

async function view(runId: string, key = owner.apiKey): Promise<RunView> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}`, { key });
  expect(res.status).toBe(200);
  return res.body;
}

async function waitFor(runId: string, until: (v: RunView) => boolean, what: string): Promise<RunView> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const v = await view(runId);
    if (until(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} never ${what}: still ${v.status} (${v.progress.done}/${v.progress.total})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ended = (v: RunView) => TERMINAL_STATUSES.includes(v.status);

describe('stopping runs', () => {
  it('records a stop for a run still waiting on its queue, idempotently; the run ends stopped once picked up', async () => {
    const evaluationId = await createEvaluation(owner.apiKey, [ARITH_BASIC_ID]);
    const runId = await launch(owner.apiKey, evaluationId, 'runs');

    const report = await stack.api.request('GET', `/v1/runs/${runId}/report.xlsx`, { key: owner.apiKey });
    expect(report.status).toBe(409);
    expect(report.body.detail).toMatch(/queued; its report is written when it ends/);

    const first = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ runId, status: 'queued', stopRequestedAt: expect.any(String) });
    const second = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey });
    expect(second.status).toBe(202);
    expect(second.body.stopRequestedAt).toBe(first.body.stopRequestedAt);

    workers = await startWorkers(stack.api.deps.db);
    const stopped = await waitFor(runId, ended, 'ended');
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toContain(`stopped by ${ownerName}`);
    expect(stopped.datasets.map((d) => [d.status, d.done])).toEqual([['stopped', 0]]);
    expect(stopped.overallScore).toBeNull();

    const again = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already ended \(stopped\)/);
  });

  it('stops a running run promptly, keeping what was stored', async () => {
    stack.model.setKnobs({ latencyMs: 40 });
    try {
      const evaluationId = await createEvaluation(owner.apiKey, [ARITH_BASIC_ID], { maxConcurrency: 4 });
      const runId = await launch(owner.apiKey, evaluationId, 'runs');
      const running = await waitFor(runId, (v) => v.status === 'running' && v.progress.done > 0, 'made progress');
      expect(running.progress.total).toBe(1000);
      expect(running.progress.percent).toBeGreaterThan(0);
      expect(running.progress.percent).toBeLessThan(100);
      expect(running.progress.etaSeconds).toEqual(expect.any(Number));
      expect(running.datasets[0]!.status).toBe('running');
      expect((await stack.api.request('GET', `/v1/runs/${runId}/report.xlsx`, { key: owner.apiKey })).status).toBe(409);

      const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey });
      expect(stop.status).toBe(202);
      const stopped = await waitFor(runId, ended, 'ended');
      expect(stopped.status).toBe('stopped');
      expect(stopped.datasets[0]!.status).toBe('stopped');
      expect(stopped.progress.done).toBeLessThan(1000);
      expect(stopped.progress.etaSeconds).toBeNull();

      const results = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key: owner.apiKey });
      expect(results.body.items).toHaveLength(stopped.progress.done);
    } finally {
      stack.model.setKnobs({ latencyMs: 0 });
    }
  });

  it('closes a run whose workflow never started', async () => {
    const dataset = await insertArithmeticDataset(stack.api.deps.db, 5);
    const runId = await insertRun(stack.api.deps.db, {
      ownerId: owner.id,
      endpoint: stack.model.url,
      datasets: [dataset],
    });
    const res = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: owner.apiKey });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('stopped');
    const [row] = await stack.api.deps.db.select().from(runs).where(eq(runs.id, runId));
    expect(row).toMatchObject({ status: 'stopped', error: expect.stringContaining('before it started') });
    const datasetRows = await stack.api.deps.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
    expect(datasetRows.map((d) => d.status)).toEqual(['stopped']);
  });
});

describe('access', () => {
  it("answers 404 for another user's run, 403 for a reviewer, and lets an admin read it", async () => {
    const evaluationId = await createEvaluation(owner.apiKey, [ARITH_MC_ID]);
    const runId = await launch(owner.apiKey, evaluationId, 'verifications', { samplesPerDataset: 1 });
    await waitFor(runId, ended, 'ended');
    const other = await stack.api.createUser();
    const reviewer = await stack.api.createUser('reviewer');
    for (const [method, path] of [
      ['GET', `/v1/runs/${runId}`],
      ['GET', `/v1/runs/${runId}/results`],
      ['GET', `/v1/runs/${runId}/results.jsonl`],
      ['GET', `/v1/runs/${runId}/logs`],
      ['GET', `/v1/runs/${runId}/report.xlsx`],
      ['POST', `/v1/runs/${runId}/stop`],
      ['GET', `/v1/evaluations/${evaluationId}/runs`],
    ] as const) {
      const res = await stack.api.request(method, path, { key: other.apiKey });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect((await stack.api.request(method, path, { key: reviewer.apiKey })).status, `${method} ${path}`).toBe(403);
    }
    expect((await stack.api.request('GET', '/v1/runs/not-a-uuid', { key: owner.apiKey })).status).toBe(404);
    expect((await stack.api.request('GET', `/v1/runs/${randomUUID()}`, { key: owner.apiKey })).status).toBe(404);
    expect((await stack.api.request('GET', `/v1/runs/${runId}`, { key: stack.api.adminKey })).status).toBe(200);
    expect((await stack.api.request('GET', `/v1/runs/${runId}`, {})).status).toBe(401);
  });
});

describe('results', () => {
  it('pages every result exactly once whatever the page size, across datasets, with filters', async () => {
    const evaluationId = await createEvaluation(owner.apiKey, [ARITH_MC_ID, WORD_REVERSE_ID, ARITH_BASIC_ID]);
    const runId = await launch(owner.apiKey, evaluationId, 'verifications', { samplesPerDataset: 3, seed: 99 });
    const done = await waitFor(runId, ended, 'ended');
    expect(done.status).toBe('succeeded');
    expect(done.progress.total).toBe(9);

    const whole = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key: owner.apiKey });
    expect(whole.body.nextCursor).toBeNull();
    const all: SampleResultView[] = whole.body.items;
    expect(all.map((r) => r.dataset)).toEqual([
      ...Array(3).fill(ARITH_MC_ID),
      ...Array(3).fill(WORD_REVERSE_ID),
      ...Array(3).fill(ARITH_BASIC_ID),
    ]);

    for (const limit of [1, 2, 3, 4, 8, 9]) {
      const seen: SampleResultView[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { status: number; body: any } = await stack.api.request(
          'GET',
          `/v1/runs/${runId}/results?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
          {
            key: owner.apiKey,
          },
        );
        expect(res.status).toBe(200);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(seen, `limit ${limit}`).toEqual(all);
      expect(pages).toBe(Math.ceil(9 / limit));
    }

    const firstPage = await stack.api.request('GET', `/v1/runs/${runId}/results?dataset=${WORD_REVERSE_ID}&limit=2`, {
      key: owner.apiKey,
    });
    expect(firstPage.body.items).toEqual(all.slice(3, 5));
    const secondPage = await stack.api.request(
      'GET',
      `/v1/runs/${runId}/results?dataset=${WORD_REVERSE_ID}&limit=2&cursor=${firstPage.body.nextCursor}`,
      {
        key: owner.apiKey,
      },
    );
    expect(secondPage.body).toEqual({ items: all.slice(5, 6), nextCursor: null });
    const failed = await stack.api.request('GET', `/v1/runs/${runId}/results?status=failed`, { key: owner.apiKey });
    expect(failed.body.items).toEqual([]);
  });

  it('refuses bad query parameters, naming the parameter', async () => {
    const evaluationId = await createEvaluation(owner.apiKey, [ARITH_MC_ID]);
    const runId = await launch(owner.apiKey, evaluationId, 'verifications', { samplesPerDataset: 1 });
    const cases: [string, string][] = [
      ['results?limit=0', 'limit'],
      ['results?limit=1001', 'limit'],
      ['results?limit=ten', 'limit'],
      ['results?status=great', 'status'],
      ['results?cursor=bm90LWEtY3Vyc29y', 'cursor'],
      [`results?dataset=${WORD_REVERSE_ID}`, 'dataset'],
      ['logs?after=-1', 'after'],
      ['logs?limit=0', 'limit'],
    ];
    for (const [query, field] of cases) {
      const res = await stack.api.request('GET', `/v1/runs/${runId}/${query}`, { key: owner.apiKey });
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(
        res.body.errors?.map((e: { field: string }) => e.field),
        query,
      ).toContain(field);
    }
  });
});

describe('report', () => {
  it('answers 409 for a run that ended without a report', async () => {
    const dataset = await insertArithmeticDataset(stack.api.deps.db, 3);
    const runId = await insertRun(stack.api.deps.db, {
      ownerId: owner.id,
      endpoint: stack.model.url,
      datasets: [dataset],
    });
    await stack.api.deps.db
      .update(runs)
      .set({ status: 'failed', error: 'test', endedAt: new Date() })
      .where(eq(runs.id, runId));
    const res = await stack.api.request('GET', `/v1/runs/${runId}/report.xlsx`, { key: owner.apiKey });
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/report is not written yet/);
    expect(res.headers.get('retry-after')).toBe('1');
  });
});

describe('progress estimate', () => {
  const startedAt = new Date('2026-01-01T00:00:00Z');
  it('is the time left at the rate so far, and null until there is a rate', () => {
    expect(estimateSecondsLeft({ status: 'running', startedAt }, 25, 100, new Date('2026-01-01T00:00:10Z'))).toBe(30);
    expect(estimateSecondsLeft({ status: 'running', startedAt }, 0, 100, new Date('2026-01-01T00:00:10Z'))).toBeNull();
    expect(estimateSecondsLeft({ status: 'queued', startedAt: null }, 0, 100, new Date())).toBeNull();
    expect(estimateSecondsLeft({ status: 'succeeded', startedAt }, 100, 100, new Date())).toBeNull();
  });
});
