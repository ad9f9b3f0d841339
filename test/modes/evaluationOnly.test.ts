/**
 * Evaluation only, through HTTP with real workers: predictions uploaded per dataset are scored by
 * the same workflow, and not one HTTP request leaves the worker for them. Bad uploads are refused
 * with the line and field to fix, and store nothing.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import { Context } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import type { RunView, SampleResultView } from '../../contracts/run';
import { scoreSample } from '../../scoring/metrics';
import { predictionSets } from '../../db/schema';
import { nodeHttpFetch } from '../../activities/inference/nodeHttpFetch';
import { workflowIds } from '../../temporal.config';
import { waitForRunEnd } from '../support/runThroughApi';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { downloadRunReport } from '../support/runReport';
import { useTestStack } from '../support/testStack';

const SIZE = 40;
const items = Array.from({ length: SIZE }, (_, i) => ({
  id: `q-${i}`,
  prompt: `Name the colours of flag ${i}.`,
  ground_truth: `red white blue ${i}`,
}));
/** Right, half right, wrong and empty answers, so the score is neither 0 nor 1. */
const answers = items.map((item, i) => ({
  id: item.id,
  prediction: [item.ground_truth, `red blue ${i}`, 'green', ''][i % 4]!,
}));
const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');

const stack = useTestStack({ api: true, workers: true, model: { latencyMs: 0 } });

afterAll(() => {
  vi.restoreAllMocks();
});

const waitForEnd = (key: string, runId: string): Promise<RunView> => waitForRunEnd(stack.api, key, runId, 100_000);

async function setup(): Promise<{ key: string; datasetId: string; evaluationId: string }> {
  const { apiKey: key } = await stack.api.createUser('user');
  const datasetId = `preds-${randomUUID().slice(0, 8)}`;
  const registered = await stack.api.request('POST', '/v1/datasets', {
    key,
    body: { id: datasetId, name: 'flags', domain: 'nlp', task: 'flags', metric: 'f1', jsonl: jsonl(items) },
  });
  expect(registered.status).toBe(201);
  const created = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({ datasets: [datasetId], deployment: { method: 'predictions' } }),
  });
  expect(created.status).toBe(201);
  expect(created.body.deployment).toEqual({ method: 'predictions' });
  return { key, datasetId, evaluationId: created.body.id };
}

async function storedSets(evaluationId: string): Promise<number> {
  const rows = await stack.api.deps.db
    .select({ n: sql<number>`count(*)::int` })
    .from(predictionSets)
    .where(eq(predictionSets.evaluationId, evaluationId));
  return rows[0]!.n;
}

describe('evaluation-only mode', () => {
  it('refuses bad uploads naming the line and field, and stores nothing', async () => {
    const { key, datasetId, evaluationId } = await setup();
    const put = (body: unknown, dataset = datasetId) =>
      stack.api.request('PUT', `/v1/evaluations/${evaluationId}/predictions/${dataset}`, { key, body });

    const cases: { lines: string; field: string; detail: RegExp }[] = [
      {
        lines: jsonl([answers[0], answers[1], { id: 'nope', prediction: 'x' }, ...answers.slice(2)]),
        field: 'jsonl[3].id',
        detail: /line 3: "nope" is not an item of dataset/,
      },
      {
        lines: jsonl([...answers.slice(0, 4), answers[1], ...answers.slice(4)]),
        field: 'jsonl[5].id',
        detail: /line 5: "q-1" already has a prediction on line 2/,
      },
      {
        lines: jsonl(answers.slice(0, SIZE - 2)),
        field: 'jsonl',
        detail: /no prediction for 2 of the 40 item\(s\).*"q-38", "q-39"/,
      },
      {
        lines: jsonl([{ id: 'q-0', prediction: 7 }, ...answers.slice(1)]),
        field: 'jsonl[1].prediction',
        detail: /line 1: must be a string/,
      },
      {
        lines: jsonl([{ ...answers[0], score: 1 }, ...answers.slice(1)]),
        field: 'jsonl[1].score',
        detail: /line 1: is not a field of a prediction/,
      },
      {
        lines: `${jsonl(answers.slice(0, 6))}\n{"id": "q-6",\n${jsonl(answers.slice(7))}`,
        field: 'jsonl',
        detail: /line 7: not valid JSON/,
      },
    ];
    for (const c of cases) {
      const res = await put({ jsonl: c.lines });
      expect(res.status, res.text).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errors).toEqual([{ field: c.field, message: expect.stringMatching(c.detail) }]);
    }
    const notOfEvaluation = await put({ jsonl: jsonl(answers) }, 'arith-basic');
    expect(notOfEvaluation.status).toBe(400);
    expect(notOfEvaluation.body.errors[0].field).toBe('datasetId');
    const notJsonl = await put({ predictions: [] });
    expect(notJsonl.status).toBe(400);

    // An API evaluation takes no predictions.
    const apiEvaluation = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({ datasets: [datasetId] }),
    });
    const refused = await stack.api.request(
      'PUT',
      `/v1/evaluations/${apiEvaluation.body.id}/predictions/${datasetId}`,
      {
        key,
        body: { jsonl: jsonl(answers) },
      },
    );
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].field).toBe('deployment.method');

    expect(await storedSets(evaluationId)).toBe(0);
    expect(await storedSets(apiEvaluation.body.id)).toBe(0);
    expect((await stack.api.request('GET', `/v1/evaluations/${evaluationId}/predictions`, { key })).body).toEqual({
      items: [],
    });

    // Nothing to score yet: the launch is refused before any run or quota is written.
    const launch = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect(launch.status).toBe(409);
    expect(launch.body.errors).toEqual([
      { field: 'datasets[0]', message: expect.stringContaining('has no uploaded predictions') },
    ]);
    expect((await stack.api.request('GET', `/v1/evaluations/${evaluationId}/runs`, { key })).body.items).toEqual([]);
  });

  it('scores uploaded predictions end to end without calling any endpoint', async () => {
    const { key, datasetId, evaluationId } = await setup();
    // The spies see the path every HTTP inference takes (the reference model answers through it once
    // here), and note the workflow whose activity made each request: the workers of this file also
    // take up runs earlier files left on the shared queues, whose requests are theirs, not these runs'.
    const callers: string[] = [];
    type Requester = { request: (...args: unknown[]) => http.ClientRequest };
    const spyOn = (module: typeof http | typeof https) => {
      const original = (module as unknown as Requester).request;
      return vi.spyOn(module as unknown as Requester, 'request').mockImplementation((...args: unknown[]) => {
        let caller = '(not an activity)';
        try {
          caller = Context.current().info.workflowExecution?.workflowId ?? '(an activity of no workflow)';
        } catch {
          // called outside an activity
        }
        callers.push(caller);
        return original.apply(module, args);
      });
    };
    const httpRequests = spyOn(http);
    spyOn(https);
    await (await nodeHttpFetch(`${stack.model.url}/models`, {})).text();
    expect(httpRequests).toHaveBeenCalledTimes(1);
    expect(callers).toEqual(['(not an activity)']);
    const modelRequests = stack.model.stats().requests;

    // Shuffled lines and Windows line endings are fine: predictions are keyed by item id.
    const shuffled = [...answers].reverse();
    const uploaded = await stack.api.request('PUT', `/v1/evaluations/${evaluationId}/predictions/${datasetId}`, {
      key,
      body: { jsonl: `${jsonl(shuffled).replace(/\n/g, '\r\n')}\r\n` },
    });
    expect(uploaded.status, uploaded.text).toBe(201);
    expect(uploaded.body).toMatchObject({ evaluationId, datasetId, items: SIZE });
    const listed = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/predictions`, { key });
    expect(listed.body.items).toEqual([uploaded.body]);

    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect(launched.status, launched.text).toBe(202);
    const view = await waitForEnd(key, launched.body.runId);
    expect(view.status).toBe('succeeded');

    const expected = answers.map((a, i) => scoreSample('f1', a.prediction, { ground_truth: items[i]!.ground_truth }));
    const mean = expected.reduce((s, x) => s + x, 0) / SIZE;
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(1);
    const dataset = view.datasets[0]!;
    expect(dataset).toMatchObject({ status: 'succeeded', done: SIZE, failed: 0, reusedFrom: null });
    expect(dataset.metrics!.score).toBeCloseTo(mean, 12);
    expect(view.overallScore).toBeCloseTo(mean, 12);

    const results = await stack.api.request('GET', `/v1/runs/${launched.body.runId}/results?limit=100`, { key });
    const byItem = new Map((results.body.items as SampleResultView[]).map((r) => [r.id, r]));
    expect(byItem.size).toBe(SIZE);
    answers.forEach((a, i) => {
      const r = byItem.get(a.id)!;
      expect(r.predict).toBe(a.prediction);
      expect(r.score).toBeCloseTo(expected[i]!, 12);
      expect(r.status).toBe('scored');
    });

    // The report is written just after the run is closed.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, launched.body.runId));
    expect(workbook.worksheets.length).toBeGreaterThanOrEqual(2);

    // A verification scores the drawn samples of the same predictions.
    const verification = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: { samplesPerDataset: 3, seed: 11 },
    });
    expect(verification.status).toBe(202);
    const verified = await waitForEnd(key, verification.body.runId);
    expect(verified.status).toBe('succeeded');
    const drawn = await stack.api.request('GET', `/v1/runs/${verification.body.runId}/results?limit=10`, { key });
    expect(drawn.body.items).toHaveLength(3);
    for (const r of drawn.body.items as SampleResultView[]) {
      const i = items.findIndex((item) => item.id === r.id);
      expect(r.predict).toBe(answers[i]!.prediction);
      expect(r.score).toBeCloseTo(expected[i]!, 12);
    }

    const ours = [launched.body.runId, verification.body.runId].map((runId: string) => workflowIds.run(runId));
    expect(callers.filter((caller) => ours.some((id) => caller.startsWith(id)))).toEqual([]);
    expect(stack.model.stats().requests).toBe(modelRequests);
  });
});
