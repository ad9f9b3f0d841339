/**
 * The API keeps no state of its own: shut it down in the middle of a run and start another one,
 * and everything is still there — the evaluation, the run going on without it, the key — and the
 * run ends with every sample stored once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { TERMINAL_STATUSES, type RunView } from '../../contracts/run';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { startWorkers, type RunningWorkers } from '../support/temporalTestKit';
import { connectDb, type DbHandle } from '../../db/client';
import { requireEnv } from '../support/env';

let first: TestApi | undefined;
let second: TestApi | undefined;
let workers: RunningWorkers;
let model: ReferenceModel;
// The workers are another process in production: they keep their own pool while the API goes away.
let workerDb: DbHandle;

beforeAll(async () => {
  first = await startApi();
  workerDb = connectDb(requireEnv('DATABASE_URL'));
  workers = await startWorkers(workerDb.db);
  model = await startReferenceModel({ port: 0, knobs: { skill: 1, latencyMs: 10 } });
});

afterAll(async () => {
  await workers?.shutdown();
  await workerDb?.close();
  await model?.close();
  await first?.close();
  await second?.close();
});

it('a restarted API serves the same records, and a run launched before the restart finishes', async () => {
  const api = first!;
  const user = await api.createUser('user');
  const created = await api.request('POST', '/v1/evaluations', {
    key: user.apiKey,
    body: nlpEvaluationBody({
      datasets: [ARITH_BASIC_ID],
      deployment: { method: 'api', endpoint: model.url, onlineModelName: 'proctor-reference' },
      limits: { maxConcurrency: 4 },
    }),
  });
  expect(created.status).toBe(201);
  const launched = await api.request('POST', `/v1/evaluations/${created.body.id}/runs`, { key: user.apiKey });
  expect(launched.status).toBe(202);
  const runId = launched.body.runId as string;

  for (let seen = 0; seen < 50;) {
    const view = (await api.request('GET', `/v1/runs/${runId}`, { key: user.apiKey })).body as RunView;
    seen = view.progress.done;
    await new Promise((r) => setTimeout(r, 100));
  }
  await api.close();
  first = undefined;
  await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();

  second = await startApi();
  const again = await second.request('GET', `/v1/evaluations/${created.body.id}`, { key: user.apiKey });
  expect(again.status).toBe(200);
  expect(again.body).toEqual(created.body);
  const me = await second.request('GET', '/v1/me', { key: user.apiKey });
  expect(me.body.quota.formal.used).toBe(1);

  let view: RunView;
  const deadline = Date.now() + 120_000;
  do {
    view = (await second.request('GET', `/v1/runs/${runId}`, { key: user.apiKey })).body as RunView;
    if (Date.now() > deadline)
      throw new Error(`run still ${view.status} at ${view.progress.done}/${view.progress.total}`);
    await new Promise((r) => setTimeout(r, 200));
  } while (!TERMINAL_STATUSES.includes(view.status));
  expect(view.status).toBe('succeeded');
  expect(view.progress).toMatchObject({ done: 1000, total: 1000 });
  expect(view.datasets[0]!.metrics!.score).toBe(1);

  const exported = await fetch(`${second.url}/v1/runs/${runId}/results.jsonl`, {
    headers: { authorization: `Bearer ${user.apiKey}` },
  });
  const lines = (await exported.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string });
  expect(lines).toHaveLength(1000);
  expect(new Set(lines.map((l) => l.id)).size).toBe(1000);
}, 240_000);
