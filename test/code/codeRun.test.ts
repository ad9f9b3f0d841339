/**
 * pass@k end to end through HTTP on real workers: runs and inference in this process, the
 * containers queue (code scoring) on the test run's real Docker engine, the reference model. A
 * model that answers with the reference solutions passes every problem; one that answers wrongly
 * passes none, and each sample shows the sandbox's verdict. An engine that fails to create
 * sandboxes fails the scoring batch, which Temporal retries until the engine works again.
 * PROCTOR_RECORD_HISTORIES=1 records the code-scored dataset's history (dataset-code-scored.json).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { pino } from 'pino';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import ExcelJS from 'exceljs';
import { launchAndWaitForEnd } from '../support/runThroughApi';
import { startApi, type TestApi } from '../support/apiServer';
import { uniqueModelName } from '../support/evaluationBodies';
import { startWorkers, workflowBundle, type RunningWorkers } from '../support/temporalTestKit';
import { requireEnv } from '../support/env';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import type { RunView } from '../../contracts/run';
import { CODE_PYTHON_BASIC_ID, CODE_PYTHON_BASIC_PROBLEMS } from '../../datasets/builtin/codePythonBasic';
import { createWorkers } from '../../workers/createWorkers';
import { loadEnv } from '../../config/env';
import { connectDocker } from '../../docker/engine';
import { ensureCodeSandboxImage } from '../../docker/codeSandboxImage';
import { LABEL_ROLE } from '../../docker/containerSpec';
import { SANDBOX_ROLE } from '../../docker/codeSandboxSpec';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { downloadRunReport } from '../support/runReport';

let api: TestApi;
let workers: RunningWorkers;
let containerWorkers: Worker[] = [];
let containerRuns: Promise<unknown>[] = [];
let connections: { close(): Promise<void> }[] = [];
let temporal: Client;
let right: ReferenceModel;
let wrong: ReferenceModel;
let docker: Dockerode;
/** Sandbox creations the engine refuses before it works again (an engine in trouble). */
let refuseCreates = 0;
let refused = 0;

beforeAll(async () => {
  docker = connectDocker(requireEnv('DOCKER_HOST'));
  await ensureCodeSandboxImage(docker);
  api = await startApi();
  workers = await startWorkers(api.deps.db, ['runs', 'inference']);
  // The container host's engine, with a switch that makes it refuse to create containers.
  const flaky: Dockerode = Object.create(docker);
  flaky.createContainer = ((options: Dockerode.ContainerCreateOptions) => {
    if (refuseCreates > 0) {
      refuseCreates -= 1;
      refused += 1;
      return Promise.reject(
        Object.assign(new Error('(HTTP code 500) server error - injected engine failure'), { statusCode: 500 }),
      );
    }
    return docker.createContainer(options);
  }) as Dockerode['createContainer'];
  const connection = await NativeConnection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const clientConnection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  connections = [clientConnection, connection];
  temporal = new Client({ connection: clientConnection, namespace: requireEnv('TEMPORAL_NAMESPACE') });
  const env = loadEnv(process.env);
  containerWorkers = await createWorkers({
    connection,
    namespace: requireEnv('TEMPORAL_NAMESPACE'),
    deps: {
      db: api.deps.db,
      logger: pino({ level: 'warn' }),
      secretKey: Buffer.from(requireEnv('PROCTOR_SECRET_KEY'), 'base64'),
      serving: {
        uploads: env.uploads,
        containers: env.containers,
        docker: flaky,
        temporal: new Client({ connection: clientConnection, namespace: requireEnv('TEMPORAL_NAMESPACE') }),
      },
    },
    queues: ['containers'],
    inferenceSlots: 2,
    workflowBundle: await workflowBundle(),
  });
  containerRuns = containerWorkers.map((w) => w.run());
  right = await startReferenceModel({ port: 0, knobs: { skill: 1 } });
  wrong = await startReferenceModel({ port: 0, knobs: { skill: 0 } });
}, 180_000);

afterAll(async () => {
  for (const w of containerWorkers) if (w.getState() === 'RUNNING') w.shutdown();
  await Promise.allSettled(containerRuns);
  for (const c of connections) await c.close();
  await workers?.shutdown();
  await right?.close();
  await wrong?.close();
  await api?.close();
});

async function codeEvaluation(key: string, model: ReferenceModel): Promise<string> {
  const res = await api.request('POST', '/v1/evaluations', {
    key,
    body: {
      domain: 'nlp',
      modelName: uniqueModelName('coder'),
      datasets: [CODE_PYTHON_BASIC_ID],
      robustness: false,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      deployment: { method: 'api', endpoint: model.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const runToEnd = (key: string, evaluationId: string): Promise<RunView> =>
  launchAndWaitForEnd(api, key, evaluationId, 240_000);

type CodeResult = {
  id: string;
  status: string;
  score: number | null;
  predict: string | null;
  code?: { n: number; c: number; verdicts: { passed: boolean; verdict: string }[] | null };
};

async function results(key: string, runId: string): Promise<CodeResult[]> {
  const res = await api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items as CodeResult[];
}

async function sandboxesLeft(): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${SANDBOX_ROLE}`] } })).length;
}

const problems = CODE_PYTHON_BASIC_PROBLEMS.length;

describe('formal runs of a pass@k dataset', () => {
  it('passes every problem with the reference solutions: pass@1 = 1, one passing verdict per sample, in the view and the report', async () => {
    const { apiKey: key } = await api.createUser();
    const view = await runToEnd(key, await codeEvaluation(key, right));
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    const dataset = view.datasets.find((d) => d.dataset === CODE_PYTHON_BASIC_ID)!;
    expect(dataset).toMatchObject({ total: problems, done: problems, failed: 0 });
    expect(dataset.metrics).toMatchObject({
      metric: 'pass_at_k',
      score: 1,
      scored: problems,
      failed: 0,
      passAtK: { '1': 1 },
    });
    const items = await results(key, view.runId);
    expect(items).toHaveLength(problems);
    for (const item of items) {
      expect(item.status, item.id).toBe('scored');
      expect(item.score, item.id).toBe(1);
      expect(item.predict, item.id).toContain('```python');
      expect(item.code, item.id).toMatchObject({ n: 1, c: 1, verdicts: [{ passed: true, verdict: 'passed' }] });
    }
    expect(await sandboxesLeft()).toBe(0);
    // The code-scored dataset path (patch code-scoring), replayed by test/workflows/replay.test.ts.
    if (RECORD_HISTORIES) {
      await recordHistoryFixture(
        temporal,
        'dataset-code-scored',
        workflowIds.dataset(view.runId, CODE_PYTHON_BASIC_ID),
        WORKFLOW_TYPES.dataset,
      );
    }

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(api.url, key, view.runId));
    const cells: string[] = [];
    workbook.eachSheet((sheet) => sheet.eachRow((row) => row.eachCell((cell) => cells.push(String(cell.value)))));
    expect(cells).toContain('pass_at_k');
    expect(cells.some((c) => c.includes('pass@1'))).toBe(true);
  }, 300_000);

  it('asks n completions per problem and reports pass@k for the configured ks, set through the scoring configuration', async () => {
    const { apiKey: key } = await api.createUser();
    const evaluationId = await codeEvaluation(key, right);
    const refused = await api.request('PUT', `/v1/evaluations/${evaluationId}/scoring`, {
      key,
      body: { datasets: { [CODE_PYTHON_BASIC_ID]: { metric: 'exact_match' } } },
    });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.errors).toContainEqual(
      expect.objectContaining({ field: `datasets.${CODE_PYTHON_BASIC_ID}.metric` }),
    );
    const set = await api.request('PUT', `/v1/evaluations/${evaluationId}/scoring`, {
      key,
      body: { datasets: { [CODE_PYTHON_BASIC_ID]: { metric: 'pass_at_k', options: { n: 3, ks: [3] } } } },
    });
    expect(set.status, set.text).toBe(200);

    const view = await runToEnd(key, evaluationId);
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    const dataset = view.datasets.find((d) => d.dataset === CODE_PYTHON_BASIC_ID)!;
    expect(dataset.metrics).toMatchObject({
      metric: 'pass_at_k',
      score: 1,
      scored: problems,
      passAtK: { '1': 1, '3': 1 },
    });
    const items = await results(key, view.runId);
    expect(items).toHaveLength(problems);
    for (const item of items) expect(item.code, item.id).toMatchObject({ n: 3, c: 3 });
    expect(
      items.every((item) => item.code!.verdicts!.length === 3 && item.code!.verdicts!.every((v) => v.passed)),
    ).toBe(true);
    expect(await sandboxesLeft()).toBe(0);
  }, 300_000);

  it('passes none when every answer is wrong: pass@1 = 0, each sample scored 0 with the tests_failed verdict', async () => {
    const { apiKey: key } = await api.createUser();
    const view = await runToEnd(key, await codeEvaluation(key, wrong));
    // Every answer scored (0), none failed to be asked: the dataset ran, its model is just wrong.
    const dataset = view.datasets.find((d) => d.dataset === CODE_PYTHON_BASIC_ID)!;
    expect(dataset.metrics).toMatchObject({
      metric: 'pass_at_k',
      score: 0,
      scored: problems,
      failed: 0,
      passAtK: { '1': 0 },
    });
    const items = await results(key, view.runId);
    expect(items).toHaveLength(problems);
    for (const item of items) {
      expect(item.status, item.id).toBe('scored');
      expect(item.score, item.id).toBe(0);
      expect(item.code, item.id).toMatchObject({ n: 1, c: 0, verdicts: [{ passed: false, verdict: 'tests_failed' }] });
    }
  }, 300_000);

  it('retries a scoring batch the engine failed, and scores every sample once when the engine works again', async () => {
    const { apiKey: key } = await api.createUser();
    refused = 0;
    refuseCreates = 3;
    const view = await runToEnd(key, await codeEvaluation(key, right));
    expect(refused).toBe(3);
    expect(view.status).toBe('succeeded');
    const dataset = view.datasets.find((d) => d.dataset === CODE_PYTHON_BASIC_ID)!;
    expect(dataset.metrics).toMatchObject({ score: 1, scored: problems, failed: 0 });
    const items = await results(key, view.runId);
    expect(items.filter((i) => i.code?.c === 1)).toHaveLength(problems);
    expect(await sandboxesLeft()).toBe(0);
  }, 300_000);
});
