/**
 * Custom evaluation images end to end, on real workers and the test run's real Docker engine:
 * the platform's example image against reference models whose scores are known exactly (skill 1
 * and skill 0), several models in one comparison with rankings, a stand-in image that misbehaves
 * in every way a job can (no metrics, garbage, too much, a bad shape, a non-zero exit, a hang past
 * its wall clock, running out of memory), and a stop while a job runs. The models refuse every
 * request without their real key, which only the per-job proxy holds: the job's environment and
 * the run's logs never show it. PROCTOR_RECORD_HISTORIES=1 records the custom-image dataset's
 * histories (dataset-custom-image.json, dataset-custom-image-stopped.json).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, beforeAll } from 'vitest';
import ExcelJS from 'exceljs';
import { useTestStack } from '../support/testStack';
import { nlpEvaluationBody, registerDataset } from '../support/evaluationBodies';
import { launchAndWaitForEnd, waitForRunEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { requireEnv } from '../support/env';
import { ensureJobBehavioursImage, JOB_BEHAVIOURS_IMAGE_REF } from '../support/jobBehavioursImage';
import { connectDocker } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { inspectContainer } from '../../docker/containerState';
import { containerJobName } from '../../docker/containerJobSpec';
import { EVAL_EXAMPLE_IMAGE_REF } from '../../contracts/platformImages';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { loadEnv } from '../../config/env';
import type { RunView } from '../../contracts/run';
import type { TestApi } from '../support/apiServer';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';

const STRONG_KEY = `sk-strong-${randomUUID()}`;
const WEAK_KEY = `sk-weak-${randomUUID()}`;
const SLOW_KEY = `sk-slow-${randomUUID()}`;
const LIMIT = 10;

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference', 'containers'],
  models: {
    strong: { skill: 1, requiredApiKey: STRONG_KEY },
    weak: { skill: 0, requiredApiKey: WEAK_KEY },
    slow: { skill: 1, requiredApiKey: SLOW_KEY, latencyMs: 400 },
  },
});
const docker = connectDocker(requireEnv('DOCKER_HOST'));
let exampleImageId: string;

beforeAll(async () => {
  await ensureImage(docker, EVAL_EXAMPLE_IMAGE_REF);
  await ensureJobBehavioursImage(docker);
  const admin = stack.api.adminKey;
  const listed = await stack.api.request('GET', '/v1/images?source=platform', { key: admin });
  exampleImageId = (listed.body.items as { id: string; name: string }[]).find(
    (i) => i.name === 'proctor-eval-example',
  )!.id;
}, 300_000);

/** The stand-in image as a user's would be: imported by its reference (on the engine already, so nothing is pulled) and approved. */
async function importBehavioursImage(key: string): Promise<string> {
  const imported = await stack.api.request('POST', '/v1/images', {
    key,
    body: {
      name: `job-behaviours-${randomUUID().slice(0, 8)}`,
      tag: '1',
      url: JOB_BEHAVIOURS_IMAGE_REF,
      dockerfile: 'FROM python:3.12-slim\nCOPY proctor_job_behaviours /app/proctor_job_behaviours\nUSER 65534\n',
      domains: ['nlp'],
    },
  });
  expect(imported.status, imported.text).toBe(201);
  const approved = await stack.api.request('POST', `/v1/images/${imported.body.id}/approve`, {
    key: stack.api.adminKey,
  });
  expect(approved.status, approved.text).toBe(200);
  return imported.body.id as string;
}

async function customEvaluation(
  api: TestApi,
  key: string,
  o: { url: string; apiKey: string; datasets: string[]; customImage: Record<string, unknown> },
): Promise<string> {
  const created = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: o.datasets,
      deployment: {
        method: 'api',
        endpoint: o.url,
        onlineModelName: 'proctor-reference',
        apiKey: o.apiKey,
        apiMode: 'chat',
      },
    }),
  });
  expect(created.status, created.text).toBe(201);
  const scoring = await api.request('PUT', `/v1/evaluations/${created.body.id}/scoring`, {
    key,
    body: { customImage: o.customImage },
  });
  expect(scoring.status, scoring.text).toBe(200);
  return created.body.id as string;
}

async function runLogs(key: string, runId: string): Promise<string[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return (res.body.items as { message: string }[]).map((l) => l.message);
}

function jobDir(runId: string, datasetId: string): string {
  const env = loadEnv(process.env);
  const jobs = env.containers.jobsDir ?? path.join(path.dirname(env.uploads.dir), 'jobs');
  return path.join(jobs, runId, `eval-${datasetId}`);
}

describe('the example image against reference models', () => {
  it('scores a model exactly, through the proxy only, with its metrics in the run view, the logs and the report', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const evaluationId = await customEvaluation(stack.api, key, {
      url: stack.models.strong.url,
      apiKey: STRONG_KEY,
      datasets: [ARITH_BASIC_ID],
      customImage: { imageId: exampleImageId, parameters: { limit: LIMIT } },
    });
    const before = stack.models.strong.stats();
    const run = await launchAndWaitForEnd(stack.api, key, evaluationId, 240_000);
    expect(run.status, JSON.stringify(run.datasets.map((d) => [d.dataset, d.error]))).toBe('succeeded');
    const dataset = run.datasets.find((d) => d.dataset === ARITH_BASIC_ID)!;
    expect(dataset).toMatchObject({ status: 'succeeded', total: 1, done: 1, failed: 0 });
    expect(dataset.metrics).toMatchObject({ metric: 'custom_image', score: 1 });
    expect(dataset.metrics!.custom!.primaryMetric).toBe('accuracy');
    expect(dataset.metrics!.custom!.metrics).toEqual([
      { name: 'accuracy', value: 1 },
      { name: 'answered', value: 1 },
      { name: 'items', value: LIMIT },
    ]);
    expect(dataset.metrics!.custom!.image).toBe('proctor-eval-example:1');
    expect(dataset.metrics!.custom!.usage).toMatchObject({ requests: LIMIT, failed: 0 });
    expect(run.progress).toMatchObject({ done: 1, total: 1 });
    expect(run.overallScore).toBe(1);

    // Every question reached the model once, with its real key: none was refused for a wrong one.
    const after = stack.models.strong.stats();
    expect(after.requests - before.requests).toBe(LIMIT);
    expect((after.byStatus['401'] ?? 0) - (before.byStatus['401'] ?? 0)).toBe(0);

    const logs = await runLogs(key, run.runId);
    expect(logs.some((m) => m.startsWith(`[job eval-${ARITH_BASIC_ID} stdout]`))).toBe(true);
    expect(logs.some((m) => m.includes(`${LIMIT} request(s) (0 failed)`))).toBe(true);
    expect(logs.join('\n')).not.toContain(STRONG_KEY);
    expect(logs.some((m) => m.startsWith('leaderboard submission open'))).toBe(false);
    expect(logs.join('\n')).not.toMatch(/Bearer [A-Za-z0-9_-]{20,}/);

    // The custom-image branch of the dataset workflow, replayed by test/workflows/replay.test.ts.
    if (RECORD_HISTORIES)
      await recordHistoryFixture(
        stack.temporal,
        'dataset-custom-image',
        workflowIds.dataset(run.runId, ARITH_BASIC_ID),
        WORKFLOW_TYPES.dataset,
      );

    // Its metrics are the image's own: no leaderboard ranks them.
    const submitted = await stack.api.request('POST', `/v1/runs/${run.runId}/leaderboard`, {
      key,
      body: { mode: 'named' },
    });
    expect(submitted.status, submitted.text).toBe(409);
    expect(submitted.body.detail).toMatch(/scored by the custom evaluation image proctor-eval-example:1/);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, run.runId));
    const sheet = workbook.getWorksheet('Custom metrics');
    expect(sheet, 'the report has a Custom metrics sheet').toBeDefined();
    const rows = sheet!.getSheetValues().filter(Boolean) as unknown[][];
    expect(rows.some((r) => r.includes(ARITH_BASIC_ID) && r.includes('accuracy') && r.includes(1))).toBe(true);
  }, 300_000);

  it('ranks several models evaluated by the same image in one comparison', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const customImage = { imageId: exampleImageId, parameters: { limit: LIMIT } };
    const strong = await customEvaluation(stack.api, key, {
      url: stack.models.strong.url,
      apiKey: STRONG_KEY,
      datasets: [ARITH_BASIC_ID],
      customImage,
    });
    const weak = await customEvaluation(stack.api, key, {
      url: stack.models.weak.url,
      apiKey: WEAK_KEY,
      datasets: [ARITH_BASIC_ID],
      customImage,
    });
    const created = await stack.api.request('POST', '/v1/comparisons', {
      key,
      body: { name: 'custom image comparison', evaluationIds: [weak, strong], datasets: [ARITH_BASIC_ID] },
    });
    expect(created.status, created.text).toBe(201);
    const comparisonId = created.body.comparisonId as string;
    const deadline = Date.now() + 240_000;
    let ranking;
    for (;;) {
      ranking = await stack.api.request('GET', `/v1/comparisons/${comparisonId}/ranking`, { key });
      expect(ranking.status, ranking.text).toBe(200);
      if (ranking.body.final) break;
      expect(Date.now() < deadline, 'the comparison ends').toBe(true);
      await new Promise((r) => setTimeout(r, 500));
    }
    const models = ranking.body.models as {
      rank: number;
      evaluationId: string;
      weightedScore: number;
      datasets: { metric: string; score: number; customMetrics?: { name: string; value: number }[] }[];
    }[];
    expect(models.map((m) => [m.evaluationId, m.rank, m.weightedScore])).toEqual([
      [strong, 1, 1],
      [weak, 2, 0],
    ]);
    expect(models[0]!.datasets[0]).toMatchObject({ metric: 'custom_image', score: 1 });
    expect(models[1]!.datasets[0]!.customMetrics).toContainEqual({ name: 'answered', value: 1 });
    const view = await stack.api.request('GET', `/v1/comparisons/${comparisonId}`, { key });
    // The seed's progress: models × finished sets over models × all sets.
    expect(view.body.progress).toMatchObject({ done: 2, total: 2, fraction: 1 });
  }, 300_000);
});

describe('an image that misbehaves', () => {
  it('fails each dataset with a reason that says what was expected, and the run goes on', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const names = ['ok', 'none', 'garbage', 'oversize', 'shape', 'exit', 'hang', 'oom'] as const;
    const ids = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, await registerDataset(stack.api, key, 'nlp')] as const)),
    ) as Record<(typeof names)[number], string>;
    // A benchmark the image brings: the dataset only names it, and nothing is mounted for it.
    const own = `own-${randomUUID().slice(0, 8)}`;
    const registered = await stack.api.request('POST', '/v1/datasets', {
      key,
      body: {
        id: own,
        name: 'the image’s own benchmark',
        domain: 'nlp',
        task: 'tool-use',
        metric: 'exact_match',
        source: 'image',
      },
    });
    expect(registered.status, registered.text).toBe(201);
    expect(registered.body).toMatchObject({ size: 0, source: 'image' });
    const modes = {
      [own]: { mode: 'metrics', metrics: { metrics: [{ name: 'accuracy', value: 0.75 }] } },
      [ids.ok]: {
        mode: 'metrics',
        ask: 'Say yes.',
        metrics: {
          metrics: [
            { name: 'f1', value: 0.25 },
            { name: 'accuracy', value: 0.5 },
          ],
        },
      },
      [ids.none]: { mode: 'none' },
      [ids.garbage]: { mode: 'raw', raw: 'accuracy: 0.9' },
      [ids.oversize]: { mode: 'oversize', bytes: 2 * 2 ** 20 },
      [ids.shape]: { mode: 'metrics', metrics: { metrics: [{ name: 'accuracy', value: 'high' }] } },
      [ids.exit]: { mode: 'exit', code: 3, lines: ['loading the benchmark', 'benchmark file is corrupt'] },
      [ids.hang]: { mode: 'hang' },
      [ids.oom]: { mode: 'oom' },
    };
    const evaluationId = await customEvaluation(stack.api, key, {
      url: stack.models.strong.url,
      apiKey: STRONG_KEY,
      datasets: [...names.map((n) => ids[n]), own],
      customImage: {
        imageId: await importBehavioursImage(key),
        parameters: { modes },
        primaryMetric: 'accuracy',
        env: { BENCH_SETTING: 'on' },
        limits: { timeoutSeconds: 8, memoryMb: 96 },
      },
    });
    const run = await launchAndWaitForEnd(stack.api, key, evaluationId, 280_000);
    // One dataset succeeded, so the run did; each of the others failed alone.
    expect(run.status, JSON.stringify(run.datasets.map((d) => [d.dataset, d.error]))).toBe('succeeded');
    const byName = (n: (typeof names)[number]) => run.datasets.find((d) => d.dataset === ids[n])!;

    expect(byName('ok')).toMatchObject({ status: 'succeeded', metrics: { metric: 'custom_image', score: 0.5 } });
    expect(byName('ok').metrics!.custom!.usage).toMatchObject({ requests: 1, failed: 0 });
    const expectations: [(typeof names)[number], RegExp][] = [
      ['none', /metrics\.json cannot be used: the job wrote no "metrics\.json".*expected \{"metrics"/],
      ['garbage', /metrics\.json cannot be used: .*JSON.*expected \{"metrics"/i],
      ['oversize', /metrics\.json cannot be used: "metrics\.json" is \d+ bytes, more than the 1048576 bytes allowed/],
      ['shape', /metrics\[0\]\.value \(accuracy\) is text, not a finite number; expected \{"metrics"/],
      ['exit', /exited with code 3[\s\S]*benchmark file is corrupt/],
      ['hang', /(wall-clock|time limit|timed out|8 s)[\s\S]*hanging/i],
      ['oom', /(memory|OOM)[\s\S]*96/i],
    ];
    for (const [name, pattern] of expectations) {
      const d = byName(name);
      expect(d.status, name).toBe('failed');
      expect(d.error ?? '', name).toMatch(pattern);
    }
    expect(run.datasets.find((d) => d.dataset === own)).toMatchObject({
      status: 'succeeded',
      metrics: { score: 0.75 },
    });
    const ownEnv = JSON.parse(await readFile(path.join(jobDir(run.runId, own), 'env.json'), 'utf8'));
    expect(ownEnv.EVAL_DATASET_ID).toBe(own);
    expect(ownEnv.EVAL_DATASET_PATH).toBeUndefined();
    // Both datasets are in one task each; the overall score is the mean of the two that succeeded.
    expect(run.overallScore).toBeCloseTo((0.5 + 0.75) / 2, 10);

    // What the job was given: the proxy's URL and a token of its own, never the model's key.
    const env = JSON.parse(await readFile(path.join(jobDir(run.runId, ids.ok), 'env.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(env.EVAL_OUTPUT_DIR).toBe('/output');
    expect(env.EVAL_INFERENCE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions$/);
    expect(env.EVAL_AUTHORIZATION_HEADER_KEY).toBe('Authorization');
    expect(env.EVAL_AUTHORIZATION_HEADER_VALUE).toMatch(/^Bearer \S{20,}$/);
    expect(env.EVAL_DATASET_ID).toBe(ids.ok);
    expect(env.EVAL_DATASET_PATH).toBe(`/data/${ids.ok}.jsonl`);
    expect(env.BENCH_SETTING).toBe('on');
    expect(JSON.parse(env.EVAL_PARAMETERS!)).toEqual({ modes });
    expect(Object.values(env).join('\n')).not.toContain(STRONG_KEY);
    // The one question it asked went through the proxy, which added the key the model requires.
    const answer = JSON.parse(await readFile(path.join(jobDir(run.runId, ids.ok), 'answer.json'), 'utf8'));
    expect(typeof answer.answer).toBe('string');
    const token = env.EVAL_AUTHORIZATION_HEADER_VALUE!.slice('Bearer '.length);
    const logs = (await runLogs(key, run.runId)).join('\n');
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(STRONG_KEY);
  }, 300_000);
});

describe('a stop while a job runs', () => {
  it('reaches the job in seconds: its container goes and the dataset is stopped', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const datasetId = await registerDataset(stack.api, key, 'nlp');
    const evaluationId = await customEvaluation(stack.api, key, {
      url: stack.models.slow.url,
      apiKey: SLOW_KEY,
      datasets: [datasetId],
      customImage: { imageId: await importBehavioursImage(key), parameters: { mode: 'slow', calls: 200 } },
    });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect(launched.status, launched.text).toBe(202);
    const runId = launched.body.runId as string;
    const name = containerJobName(runId, `eval-${datasetId}`);
    const deadline = Date.now() + 120_000;
    while (!(await inspectContainer(docker, name))?.State.Running) {
      expect(Date.now() < deadline, 'the job starts').toBe(true);
      await new Promise((r) => setTimeout(r, 100));
    }
    const stoppedAt = Date.now();
    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key, body: { reason: 'enough' } });
    expect(stop.status, stop.text).toBe(202);
    while (await inspectContainer(docker, name)) {
      expect(Date.now() - stoppedAt, 'the container goes within 15 s').toBeLessThan(15_000);
      await new Promise((r) => setTimeout(r, 100));
    }
    const run: RunView = await waitForRunEnd(stack.api, key, runId);
    expect(run.status).toBe('stopped');
    expect(run.datasets[0]!.status).toBe('stopped');
    if (RECORD_HISTORIES)
      await recordHistoryFixture(
        stack.temporal,
        'dataset-custom-image-stopped',
        workflowIds.dataset(runId, datasetId),
        WORKFLOW_TYPES.dataset,
      );
  }, 300_000);
});
