/**
 * Inference-only runs through HTTP on real workers: every dataset inferred, answers stored and not
 * scored, marked inference-only in the view, the run list and the report, refused by the
 * leaderboard, a formal quota slot taken; their answers exported as predictions that an
 * evaluation-only evaluation takes unchanged and scores exactly as a normal run scored the same
 * model; and the bad requests each part invites.
 */
import { describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import type { RunView } from '../../contracts/run';
import { workflowIds } from '../../temporal.config';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { waitForRunEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { formalUsed } from '../support/quotaFixtures';
import { useTestStack } from '../support/testStack';
import { count, eq } from 'drizzle-orm';
import { perturbedSampleResults } from '../../db/schema';

const DATASETS = [ARITH_BASIC_ID, WORD_REVERSE_ID];
// Wrong now and then, the same way every time: a score that is neither 0 nor 1 and can be matched.
const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference'],
  // No judging worker: a judge step planned by mistake would never end, and the run with it.
  judge: true,
  models: {
    fair: { skill: 0.6, seed: 11 },
    slow: { skill: 1, latencyMs: 400 },
    // Always right when it answers, and it fails one request in five.
    flaky: { skill: 1, errorRate: 0.2, errorStatus: 500, seed: 3 },
  },
});

async function evaluation(key: string, deployment: Record<string, unknown>): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({ datasets: DATASETS, deployment }),
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const apiDeployment = (endpoint: string) => ({ method: 'api', endpoint, onlineModelName: 'proctor-reference' });

async function launch(key: string, evaluationId: string, body: unknown): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, body });
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

const scores = (run: RunView) => Object.fromEntries(run.datasets.map((d) => [d.dataset, d.metrics?.score]));

async function closeWindow(runId: string): Promise<void> {
  await stack.temporal.workflow
    .getHandle(workflowIds.leaderboard(runId))
    .terminate('test finished')
    .catch(() => {});
}

describe('an inference-only run', () => {
  it('stores answers unscored, and its exported predictions score as a normal run scored the model', async () => {
    const { apiKey: key, id: userId } = await stack.api.createUser();
    const modelEvaluation = await evaluation(key, apiDeployment(stack.models.fair.url));

    const scored = await waitForRunEnd(stack.api, key, await launch(key, modelEvaluation, { reuse: false }));
    expect(scored.status, scored.error ?? '').toBe('succeeded');
    expect(scored.mode).toBe('inference-and-evaluation');
    for (const score of Object.values(scores(scored))) {
      expect(score).toBeGreaterThan(0.3);
      expect(score).toBeLessThan(0.9);
    }

    const used = await formalUsed(stack.api.deps.db, userId);
    const run = await waitForRunEnd(stack.api, key, await launch(key, modelEvaluation, { mode: 'inference-only' }));
    // It asked the model, so it takes a formal slot like any formal run.
    expect(await formalUsed(stack.api.deps.db, userId)).toBe(used + 1);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.mode).toBe('inference-only');
    expect(run.overallScore).toBeNull();
    expect(run.taskScores).toEqual([]);
    expect(run.leaderboard).toBeNull();
    expect(run.datasets.map((d) => [d.dataset, d.status, d.done, d.total, d.metrics, d.reusedFrom])).toEqual([
      [ARITH_BASIC_ID, 'succeeded', 1000, 1000, null, null],
      [WORD_REVERSE_ID, 'succeeded', 600, 600, null, null],
    ]);
    const results = await stack.api.request('GET', `/v1/runs/${run.runId}/results?limit=5`, { key });
    for (const r of results.body.items as { status: string; score: number | null; predict: string }[])
      expect(r).toMatchObject({ status: 'answered', score: null, predict: expect.any(String) });

    const listed = await stack.api.request('GET', `/v1/runs?evaluationId=${modelEvaluation}`, { key });
    expect(
      (listed.body.items as { runId: string; mode: string; overallScore: number | null }[]).map((r) => [
        r.runId,
        r.mode,
        r.overallScore,
      ]),
    ).toEqual([
      [run.runId, 'inference-only', null],
      [scored.runId, 'inference-and-evaluation', scored.overallScore],
    ]);
    for (const [mode, expected] of [
      ['inference-only', [run.runId]],
      ['inference-and-evaluation', [scored.runId]],
      ['evaluation-only', []],
    ] as const) {
      const filtered = await stack.api.request('GET', `/v1/runs?mode=${mode}`, { key });
      expect(filtered.status, filtered.text).toBe(200);
      expect((filtered.body.items as { runId: string }[]).map((r) => r.runId)).toEqual(expected);
    }
    const badMode = await stack.api.request('GET', '/v1/runs?mode=infer', { key });
    expect(badMode.status).toBe(400);
    expect(badMode.body.errors[0].field).toBe('mode');
    const versions = await stack.api.request('GET', `/v1/evaluations/${modelEvaluation}/runs`, { key });
    expect((versions.body.items as { version: number; mode: string }[]).map((v) => [v.version, v.mode])).toEqual([
      [2, 'inference-only'],
      [1, 'inference-and-evaluation'],
    ]);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, run.runId));
    const summary = workbook.getWorksheet('Summary')!.getSheetValues() as unknown[][];
    const modeRow = summary.find((r) => r?.[1] === 'Mode');
    expect(modeRow?.[2]).toMatch(/^inference only: answers stored, not scored/);

    const submitted = await stack.api.request('POST', `/v1/runs/${run.runId}/leaderboard`, {
      key,
      body: { mode: 'named' },
    });
    expect(submitted.status, submitted.text).toBe(409);
    expect(submitted.body.errors).toEqual([{ field: 'mode', message: expect.stringContaining('is inference-only') }]);

    // The export: an index, then one JSON Lines file per dataset.
    const index = await stack.api.request('GET', `/v1/runs/${run.runId}/predictions`, { key });
    expect(index.status, index.text).toBe(200);
    expect(index.body).toEqual({
      runId: run.runId,
      datasets: DATASETS.map((datasetId, i) => ({
        datasetId,
        status: 'succeeded',
        items: [1000, 600][i],
        answered: [1000, 600][i],
        failed: 0,
        exportable: true,
        path: `/v1/runs/${run.runId}/predictions/${datasetId}`,
      })),
    });

    // Uploaded unchanged to an evaluation-only evaluation of the same datasets, they score as the normal run did.
    const predictionsEvaluation = await evaluation(key, { method: 'predictions' });
    for (const { datasetId, path } of index.body.datasets as { datasetId: string; path: string }[]) {
      const exported = await stack.api.request('GET', path, { key });
      expect(exported.status, exported.text).toBe(200);
      expect(exported.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(exported.headers.get('content-disposition')).toContain(`-${datasetId}-predictions.jsonl`);
      const lines = (exported.text as string).split('\n').filter(Boolean);
      expect(lines).toHaveLength(datasetId === ARITH_BASIC_ID ? 1000 : 600);
      for (const line of lines.slice(0, 20)) expect(Object.keys(JSON.parse(line)).sort()).toEqual(['id', 'prediction']);
      const uploaded = await stack.api.request(
        'PUT',
        `/v1/evaluations/${predictionsEvaluation}/predictions/${datasetId}`,
        { key, body: { jsonl: exported.text } },
      );
      expect(uploaded.status, uploaded.text).toBe(201);
    }
    const rescored = await waitForRunEnd(stack.api, key, await launch(key, predictionsEvaluation, {}));
    expect(rescored.status, rescored.error ?? '').toBe('succeeded');
    expect(rescored.mode).toBe('evaluation-only');
    const evaluationOnly = await stack.api.request('GET', '/v1/runs?mode=evaluation-only', { key });
    expect((evaluationOnly.body.items as { runId: string }[]).map((r) => r.runId)).toEqual([rescored.runId]);
    expect(scores(rescored)).toEqual(scores(scored));
    expect(rescored.overallScore).toBe(scored.overallScore);

    for (const r of [scored, rescored]) await closeWindow(r.runId);
  });

  it('calls no judge and makes no robustness pass, whatever the evaluation asks for', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const create = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({
        datasets: DATASETS,
        deployment: apiDeployment(stack.models.fair.url),
        robustness: true,
      }),
    });
    expect(create.status, create.text).toBe(201);
    const id = create.body.id as string;
    const scoring = await stack.api.request('PUT', `/v1/evaluations/${id}/scoring`, {
      key,
      body: { datasets: { [WORD_REVERSE_ID]: { metric: 'judge', judge: { baseUrl: stack.judge.url, model: 'j' } } } },
    });
    expect(scoring.status, scoring.text).toBe(200);
    stack.judge.requests.length = 0;

    const run = await waitForRunEnd(stack.api, key, await launch(key, id, { mode: 'inference-only' }));
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.datasets.map((d) => [d.dataset, d.status, d.done, d.metrics])).toEqual([
      [ARITH_BASIC_ID, 'succeeded', 1000, null],
      [WORD_REVERSE_ID, 'succeeded', 600, null],
    ]);
    expect(stack.judge.requests).toHaveLength(0);
    const [perturbed] = await stack.api.deps.db
      .select({ n: count() })
      .from(perturbedSampleResults)
      .where(eq(perturbedSampleResults.runId, run.runId));
    expect(perturbed!.n).toBe(0);
    const judged = await stack.api.request('GET', `/v1/runs/${run.runId}/results?dataset=${WORD_REVERSE_ID}&limit=3`, {
      key,
    });
    for (const r of judged.body.items as { status: string; score: number | null }[])
      expect(r).toMatchObject({ status: 'answered', score: null });
  });

  it('exports a failed sample as "", which the upload takes and scores as a wrong answer', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const create = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({
        datasets: [WORD_REVERSE_ID],
        deployment: apiDeployment(stack.models.flaky.url),
        limits: { maxRetryPerQuery: 0 },
      }),
    });
    expect(create.status, create.text).toBe(201);
    const run = await waitForRunEnd(
      stack.api,
      key,
      await launch(key, create.body.id as string, { mode: 'inference-only' }),
    );
    expect(run.status, run.error ?? '').toBe('succeeded');
    const [dataset] = run.datasets;
    expect(dataset!.failed).toBeGreaterThan(60);
    expect(dataset!.failed).toBeLessThan(180);

    const index = await stack.api.request('GET', `/v1/runs/${run.runId}/predictions`, { key });
    expect(index.body.datasets[0]).toMatchObject({ answered: 600 - dataset!.failed, failed: dataset!.failed });
    const exported = await stack.api.request('GET', `/v1/runs/${run.runId}/predictions/${WORD_REVERSE_ID}`, { key });
    const lines = (exported.text as string)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; prediction: string });
    expect(lines).toHaveLength(600);
    expect(lines.filter((l) => l.prediction === '')).toHaveLength(dataset!.failed);

    const predictions = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({ datasets: [WORD_REVERSE_ID], deployment: { method: 'predictions' } }),
    });
    const uploaded = await stack.api.request(
      'PUT',
      `/v1/evaluations/${predictions.body.id as string}/predictions/${WORD_REVERSE_ID}`,
      { key, body: { jsonl: exported.text } },
    );
    expect(uploaded.status, uploaded.text).toBe(201);
    const rescored = await waitForRunEnd(stack.api, key, await launch(key, predictions.body.id as string, {}));
    // Every answer the model gave is right; every failed sample scores 0, as in a normal run.
    expect(rescored.datasets[0]!.metrics?.score).toBeCloseTo((600 - dataset!.failed) / 600, 10);
    await closeWindow(rescored.runId);
  });

  it('refuses the exports a run cannot give: a scored run, one still running, a dataset it lacks or that did not finish', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const { apiKey: stranger } = await stack.api.createUser();
    const slow = await evaluation(key, apiDeployment(stack.models.slow.url));
    const runId = await launch(key, slow, { mode: 'inference-only' });

    // Still running: 409, field status.
    for (const path of [`/v1/runs/${runId}/predictions`, `/v1/runs/${runId}/predictions/${ARITH_BASIC_ID}`]) {
      const running = await stack.api.request('GET', path, { key });
      expect(running.status, running.text).toBe(409);
      expect(running.body.errors).toEqual([{ field: 'status', message: expect.stringMatching(/is (queued|running)/) }]);
    }
    // Someone else's: as if it did not exist.
    expect((await stack.api.request('GET', `/v1/runs/${runId}/predictions`, { key: stranger })).status).toBe(404);
    expect(
      (await stack.api.request('GET', `/v1/runs/${runId}/predictions/${ARITH_BASIC_ID}`, { key: stranger })).status,
    ).toBe(404);

    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key, body: {} });
    expect(stop.status, stop.text).toBe(202);
    const stopped = await waitForRunEnd(stack.api, key, runId);
    expect(stopped.status).toBe('stopped');
    expect(stopped.mode).toBe('inference-only');

    // Ended: the index answers, but a stopped dataset has no whole set of answers to export.
    const index = await stack.api.request('GET', `/v1/runs/${runId}/predictions`, { key });
    expect(index.status, index.text).toBe(200);
    expect((index.body.datasets as { exportable: boolean }[]).every((d) => !d.exportable)).toBe(true);
    const unfinished = await stack.api.request('GET', `/v1/runs/${runId}/predictions/${ARITH_BASIC_ID}`, { key });
    expect(unfinished.status, unfinished.text).toBe(409);
    expect(unfinished.body.errors).toEqual([
      { field: 'datasetId', message: expect.stringContaining(`dataset ${ARITH_BASIC_ID} of run v1 was stopped`) },
    ]);
    const unknown = await stack.api.request('GET', `/v1/runs/${runId}/predictions/no-such-dataset`, { key });
    expect(unknown.status, unknown.text).toBe(400);
    expect(unknown.body.errors[0].field).toBe('datasetId');

    // A run that scored its answers has no predictions to export.
    const quick = await evaluation(key, apiDeployment(stack.models.fair.url));
    const verification = await stack.api.request('POST', `/v1/evaluations/${quick}/verifications`, {
      key,
      body: { samplesPerDataset: 1 },
    });
    expect(verification.status, verification.text).toBe(202);
    await waitForRunEnd(stack.api, key, verification.body.runId as string);
    const notInferenceOnly = await stack.api.request(
      'GET',
      `/v1/runs/${verification.body.runId as string}/predictions/${ARITH_BASIC_ID}`,
      { key },
    );
    expect(notInferenceOnly.status, notInferenceOnly.text).toBe(409);
    expect(notInferenceOnly.body.errors).toEqual([
      { field: 'mode', message: expect.stringContaining('is inference-and-evaluation, not inference-only') },
    ]);
  });

  it('refuses launches it cannot be, taking no quota', async () => {
    const { apiKey: key, id: userId } = await stack.api.createUser();
    const api = await evaluation(key, apiDeployment(stack.models.fair.url));
    const predictions = await evaluation(key, { method: 'predictions' });
    const refusals: [string, unknown, number, string][] = [
      [api, { mode: 'inference' }, 400, 'mode'],
      [api, { mode: 'inference-only', limit: { count: 5 } }, 400, 'limit'],
      [predictions, { mode: 'inference-only' }, 409, 'mode'],
    ];
    for (const [id, body, status, field] of refusals) {
      const res = await stack.api.request('POST', `/v1/evaluations/${id}/runs`, { key, body });
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect((res.body.errors as { field: string }[]).map((e) => e.field)).toContain(field);
    }
    expect(await formalUsed(stack.api.deps.db, userId)).toBe(0);
    const runs = await stack.api.request('GET', '/v1/runs', { key });
    expect(runs.body.items).toEqual([]);
  });
});
