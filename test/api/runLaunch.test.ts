/**
 * Launching runs through HTTP: what a verification and a formal launch write (the records the run
 * workflow expects), the workflow they start, the refusals, and the compensation when Temporal
 * cannot take the workflow. No workers run here: launched workflows wait on their queue and are
 * terminated when the file ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../../api/app';
import { drawSampleIndices } from '../../datasets/prng';
import { datasets, evaluations, quotaUsage, runDatasets, runLogs, runs } from '../../db/schema';
import { utcMonth } from '../../db/queries/quota';
import { SEARCH_ATTRIBUTES, TASK_QUEUES, workflowIds } from '../../temporal.config';
import type { RunConfig } from '../../contracts/run';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody, platformImageId, privateDeploymentBody } from '../support/evaluationBodies';
import { freePort } from '../support/ports';

let api: TestApi;
const launchedWorkflows: string[] = [];
let builtins: (typeof datasets.$inferSelect)[];

beforeAll(async () => {
  api = await startApi();
  builtins = await api.deps.db
    .select()
    .from(datasets)
    .where(and(eq(datasets.builtin, true), eq(datasets.domain, 'nlp')))
    .orderBy(asc(datasets.size), asc(datasets.id));
  expect(builtins.length).toBeGreaterThanOrEqual(2);
});

afterAll(async () => {
  for (const id of launchedWorkflows) {
    await api.deps.temporal.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => {});
  }
  await api?.close();
});

async function createEvaluation(key: string, datasetIds: string[], extra: Record<string, unknown> = {}) {
  const res = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets: datasetIds,
      deployment: {
        method: 'api',
        endpoint: 'http://127.0.0.1:9/v1',
        onlineModelName: 'proctor-reference',
        apiKey: 'sk-launch-test',
        apiMode: 'chat',
      },
      limits: { maxConcurrency: 8 },
      ...extra,
    }),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; modelName: string };
}

async function launch(key: string, evaluationId: string, kind: 'runs' | 'verifications', body?: unknown) {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key, body });
  if (res.status === 202) launchedWorkflows.push(res.body.workflowId);
  return res;
}

async function runRow(runId: string) {
  const [row] = await api.deps.db.select().from(runs).where(eq(runs.id, runId));
  return row!;
}

async function datasetRows(runId: string) {
  return api.deps.db.select().from(runDatasets).where(eq(runDatasets.runId, runId)).orderBy(runDatasets.position);
}

async function formalUsed(userId: string): Promise<number | undefined> {
  const [row] = await api.deps.db
    .select()
    .from(quotaUsage)
    .where(
      and(eq(quotaUsage.userId, userId), eq(quotaUsage.month, utcMonth(new Date())), eq(quotaUsage.kind, 'formal')),
    );
  return row?.used;
}

describe('POST /v1/evaluations/:id/verifications', () => {
  it('draws the requested samples per dataset with the seed recorded, and the same seed draws the same samples', async () => {
    const user = await api.createUser();
    const chosen = builtins.slice(0, 2);
    const evaluation = await createEvaluation(
      user.apiKey,
      chosen.map((d) => d.id),
    );

    const first = await launch(user.apiKey, evaluation.id, 'verifications', { samplesPerDataset: 2, seed: 42 });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      version: 1,
      type: 'verification',
      status: 'queued',
      workflowId: workflowIds.run(first.body.runId),
    });
    const run = await runRow(first.body.runId);
    expect(run.config.sampleSeed).toBe(42);
    run.config.datasets.forEach((plan, position) => {
      expect(plan.sampleIndices).toEqual(drawSampleIndices(42 + position, chosen[position]!.size, 2));
    });
    expect((await datasetRows(run.id)).map((d) => [d.datasetId, d.position, d.total, d.status])).toEqual(
      chosen.map((d, i) => [d.id, i, Math.min(2, d.size), 'queued']),
    );

    const again = await launch(user.apiKey, evaluation.id, 'verifications', { samplesPerDataset: 2, seed: 42 });
    expect(again.status).toBe(202);
    expect(again.body.version).toBe(2);
    const rerun = await runRow(again.body.runId);
    expect(rerun.config.datasets.map((d) => d.sampleIndices)).toEqual(run.config.datasets.map((d) => d.sampleIndices));

    // Verifications take no quota.
    expect(await formalUsed(user.id)).toBeUndefined();
  });

  it('defaults to 3 samples per dataset and a random seed it records', async () => {
    const user = await api.createUser();
    const evaluation = await createEvaluation(user.apiKey, [builtins[0]!.id]);
    const res = await launch(user.apiKey, evaluation.id, 'verifications');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const run = await runRow(res.body.runId);
    const seed = run.config.sampleSeed!;
    expect(Number.isInteger(seed)).toBe(true);
    const indices = run.config.datasets[0]!.sampleIndices!;
    expect(indices).toHaveLength(Math.min(3, builtins[0]!.size));
    expect(indices).toEqual(drawSampleIndices(seed, builtins[0]!.size, 3));
  });

  it('refuses a sample count outside 1–3, naming the field', async () => {
    const user = await api.createUser();
    const evaluation = await createEvaluation(user.apiKey, [builtins[0]!.id]);
    for (const samplesPerDataset of [0, 4]) {
      const res = await launch(user.apiKey, evaluation.id, 'verifications', { samplesPerDataset });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'samplesPerDataset' })]);
    }
  });
});

describe('POST /v1/evaluations/:id/runs', () => {
  it('writes a queued run with its configuration frozen and starts its workflow with search attributes', async () => {
    const user = await api.createUser();
    const chosen = builtins.slice(0, 2);
    const evaluation = await createEvaluation(
      user.apiKey,
      chosen.map((d) => d.id),
      { inference: { maxTokens: 64 } },
    );
    const res = await launch(user.apiKey, evaluation.id, 'runs');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({
      runId: expect.any(String),
      version: 1,
      type: 'formal',
      status: 'queued',
      workflowId: workflowIds.run(res.body.runId),
    });

    const run = await runRow(res.body.runId);
    const [evalRow] = await api.deps.db.select().from(evaluations).where(eq(evaluations.id, evaluation.id));
    expect(run).toMatchObject({
      evaluationId: evaluation.id,
      ownerId: user.id,
      submitterId: user.id,
      version: 1,
      type: 'formal',
      status: 'queued',
    });
    expect(run.apiKeyCipher).toBe(evalRow!.apiKeyCipher);
    expect(run.apiKeyCipher).toBeTruthy();
    expect(JSON.stringify(run.config)).not.toContain('sk-launch-test');
    expect(run.config).toMatchObject<Partial<RunConfig>>({
      domain: 'nlp',
      modelName: evaluation.modelName,
      endpoint: 'http://127.0.0.1:9/v1',
      onlineModelName: 'proctor-reference',
      apiMode: 'chat',
      inference: evalRow!.inference,
      limits: evalRow!.limits,
      sampleSeed: null,
    });
    expect(run.config.inference.maxTokens).toBe(64);
    expect(run.config.datasets).toEqual(
      chosen.map((d) => ({
        datasetId: d.id,
        task: d.task,
        metric: d.metric,
        contentHash: d.contentHash,
        sampleIndices: null,
      })),
    );
    expect((await datasetRows(run.id)).map((d) => [d.datasetId, d.total, d.task, d.status])).toEqual(
      chosen.map((d) => [d.id, d.size, d.task, 'queued']),
    );
    expect(await formalUsed(user.id)).toBe(1);

    const described = await api.deps.temporal.workflow.getHandle(res.body.workflowId).describe();
    expect(described.taskQueue).toBe(TASK_QUEUES.runs);
    const attrs = Object.fromEntries(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(attrs).toMatchObject({
      [SEARCH_ATTRIBUTES.domain]: 'nlp',
      [SEARCH_ATTRIBUTES.modelName]: evaluation.modelName,
      [SEARCH_ATTRIBUTES.owner]: user.id,
      [SEARCH_ATTRIBUTES.runType]: 'formal',
      [SEARCH_ATTRIBUTES.status]: 'queued',
    });

    // The Temporal UI's summary and details say what runs, for whom, on what.
    expect(await described.staticSummary()).toBe(
      `formal run v1 of ${evaluation.modelName} (nlp, ${chosen.length} dataset(s))`,
    );
    const details = await described.staticDetails();
    expect(details).toContain(`**Run** \`${run.id}\``);
    expect(details).toContain(`**Owner** \`${user.id}\``);
    expect(details).toContain(chosen.map((d) => `\`${d.id}\``).join(', '));

    // Versions keep counting across run types.
    const verification = await launch(user.apiKey, evaluation.id, 'verifications', { samplesPerDataset: 1, seed: 1 });
    expect(verification.body.version).toBe(2);
  });

  it("counts against the evaluation owner's quota when an admin launches it", async () => {
    const user = await api.createUser();
    const evaluation = await createEvaluation(user.apiKey, [builtins[0]!.id]);
    const res = await launch(api.adminKey, evaluation.id, 'runs');
    expect(res.status).toBe(202);
    const run = await runRow(res.body.runId);
    expect(run.ownerId).toBe(user.id);
    expect(run.submitterId).not.toBe(user.id);
    expect(await formalUsed(user.id)).toBe(1);
  });

  it("answers 404 for another user's evaluation and 403 for a reviewer", async () => {
    const owner = await api.createUser();
    const other = await api.createUser();
    const reviewer = await api.createUser('reviewer');
    const evaluation = await createEvaluation(owner.apiKey, [builtins[0]!.id]);
    expect((await launch(other.apiKey, evaluation.id, 'runs')).status).toBe(404);
    expect((await launch(other.apiKey, evaluation.id, 'verifications')).status).toBe(404);
    expect((await launch(owner.apiKey, randomUUID(), 'runs')).status).toBe(404);
    expect((await launch(reviewer.apiKey, evaluation.id, 'runs')).status).toBe(403);
    expect(await api.deps.db.select().from(runs).where(eq(runs.evaluationId, evaluation.id))).toHaveLength(0);
    expect(await formalUsed(owner.id)).toBeUndefined();
  });

  it('refuses a private deployment without an upload, naming it, and takes no quota (more in privateDeployment.test.ts)', async () => {
    const user = await api.createUser();
    const imageId = await platformImageId(api, user.apiKey);
    const evaluation = await createEvaluation(user.apiKey, [builtins[0]!.id], {
      deployment: privateDeploymentBody(api, imageId),
    });
    const res = await launch(user.apiKey, evaluation.id, 'runs');
    expect(res.status).toBe(409);
    expect(res.body.errors).toEqual([
      { field: 'upload', message: expect.stringMatching(/upload model and code first/) },
    ]);
    expect(await formalUsed(user.id)).toBeUndefined();
  });

  it('refuses datasets the owner can no longer see, naming them', async () => {
    const user = await api.createUser();
    const evaluation = await createEvaluation(user.apiKey, [builtins[0]!.id]);
    const stranger = await api.createUser();
    const hiddenId = `hidden-${randomUUID().slice(0, 8)}`;
    await api.deps.db.insert(datasets).values({
      id: hiddenId,
      name: hiddenId,
      domain: 'nlp',
      task: 'qa',
      metric: 'exact_match',
      builtin: false,
      ownerId: stranger.id,
      size: 1,
      contentHash: 'sha256:x',
    });
    await api.deps.db
      .update(evaluations)
      .set({ datasetIds: [builtins[0]!.id, hiddenId] })
      .where(eq(evaluations.id, evaluation.id));
    const res = await launch(user.apiKey, evaluation.id, 'runs');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: 'datasets', message: expect.stringContaining(hiddenId) }),
    ]);
    expect(await formalUsed(user.id)).toBeUndefined();
  });

  it('marks the run failed and gives the quota slot back when the workflow cannot be started', async () => {
    const user = await api.createUser();
    const evaluation = await createEvaluation(
      user.apiKey,
      builtins.slice(0, 2).map((d) => d.id),
    );
    // A client for a Temporal address nobody listens on, without the client's own retries.
    const connection = Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      interceptors: [],
      connectTimeout: '2s',
    });
    const dead = new Client({ connection, namespace: 'default' });
    const app = await buildApp({ ...api.deps, temporal: dead });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${url}/v1/evaluations/${evaluation.id}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.apiKey}` },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(((await res.json()) as { detail: string }).detail).toMatch(
        /marked failed and the quota slot was given back/,
      );
    } finally {
      await app.close();
      await connection.close().catch(() => {});
    }

    const [run] = await api.deps.db.select().from(runs).where(eq(runs.evaluationId, evaluation.id));
    expect(run).toMatchObject({ status: 'failed', version: 1 });
    expect(run!.error).toMatch(/workflow could not be started/);
    expect(run!.endedAt).toBeInstanceOf(Date);
    expect((await datasetRows(run!.id)).every((d) => d.status === 'failed')).toBe(true);
    expect(await formalUsed(user.id)).toBe(0);
    const logs = await api.deps.db.select().from(runLogs).where(eq(runLogs.runId, run!.id));
    expect(logs.map((l) => l.message)).toEqual([expect.stringMatching(/could not be started/)]);

    // The next launch through a working Temporal gets the next version and the slot again.
    const next = await launch(user.apiKey, evaluation.id, 'runs');
    expect(next.status).toBe(202);
    expect(next.body.version).toBe(2);
    expect(await formalUsed(user.id)).toBe(1);
  });
});
