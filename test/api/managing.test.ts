/**
 * Managing things through HTTP: deleting a custom dataset (only one nothing uses, only one's own,
 * never a built-in) and copying an evaluation under a new name (everything but runs, uploads and
 * predictions, the scoring configuration with its judge keys sealed anew), with the bad inputs
 * each invites; a refusal changes nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { datasetItems, datasets, evaluations, judgeKeys, scoringConfigs } from '../../db/schema';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { openSecret } from '../../db/secretBox';
import { insertRun } from '../support/runFixtures';
import { nlpEvaluationBody, uniqueModelName } from '../support/evaluationBodies';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ api: true });
let alice: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };
let reviewer: { id: string; apiKey: string };

beforeAll(async () => {
  [alice, bob, reviewer] = await Promise.all([
    stack.api.createUser('user'),
    stack.api.createUser('user'),
    stack.api.createUser('reviewer'),
  ]);
});

async function register(key: string): Promise<string> {
  const id = `del-${randomUUID().slice(0, 8)}`;
  const res = await stack.api.request('POST', '/v1/datasets', {
    key,
    body: {
      id,
      name: id,
      domain: 'nlp',
      task: 'custom',
      metric: 'exact_match',
      jsonl: `${JSON.stringify({ id: 'q1', prompt: 'Say yes.', ground_truth: 'yes' })}\n`,
    },
  });
  expect(res.status, res.text).toBe(201);
  return id;
}

const remove = (id: string, key: string) => stack.api.request('DELETE', `/v1/datasets/${id}`, { key });
const stored = async (id: string) => ({
  dataset: await stack.db.select().from(datasets).where(eq(datasets.id, id)),
  items: await stack.db.select().from(datasetItems).where(eq(datasetItems.datasetId, id)),
});

describe('DELETE /v1/datasets/{id}', () => {
  it('deletes an unused custom dataset of the caller’s, with its items', async () => {
    const id = await register(alice.apiKey);
    const res = await remove(id, alice.apiKey);
    expect(res.status, res.text).toBe(204);
    expect(await stored(id)).toEqual({ dataset: [], items: [] });
    expect((await remove(id, alice.apiKey)).status).toBe(404);
    // The id is free again.
    const again = await stack.api.request('POST', '/v1/datasets', {
      key: alice.apiKey,
      body: {
        id,
        name: id,
        domain: 'nlp',
        task: 't',
        metric: 'exact_match',
        jsonl: '{"id":"a","prompt":"p","ground_truth":"g"}\n',
      },
    });
    expect(again.status, again.text).toBe(201);
  });

  it('lets an admin delete anyone’s, and refuses others: a stranger 404, a reviewer 403', async () => {
    const id = await register(alice.apiKey);
    const before = await stored(id);
    expect((await remove(id, bob.apiKey)).status).toBe(404);
    expect((await remove(id, reviewer.apiKey)).status).toBe(403);
    expect(await stored(id)).toEqual(before);
    expect((await remove(id, stack.api.adminKey)).status).toBe(204);
  });

  it('refuses a built-in, one a run used, and one an evaluation lists, saying which, and changes nothing', async () => {
    const builtin = await remove(ARITH_BASIC_ID, stack.api.adminKey);
    expect(builtin.status).toBe(409);
    expect(builtin.body.detail).toBe('arith-basic is a built-in dataset; built-in datasets cannot be deleted');

    const used = await register(alice.apiKey);
    await insertRun(stack.db, {
      ownerId: alice.id,
      endpoint: 'http://127.0.0.1:9/v1',
      datasets: [{ id: used, task: 'custom', metric: 'exact_match', size: 1 }],
    });
    const before = await stored(used);
    const byRun = await remove(used, alice.apiKey);
    expect(byRun.status).toBe(409);
    // The fixture's evaluation lists it too.
    expect(byRun.body.detail).toMatch(
      new RegExp(`^${used} is used by 1 run\\(s\\), which keep what they were scored on and by 1 evaluation`),
    );
    expect(await stored(used)).toEqual(before);

    const listed = await register(alice.apiKey);
    const modelName = uniqueModelName('lists');
    const created = await stack.api.request('POST', '/v1/evaluations', {
      key: alice.apiKey,
      body: nlpEvaluationBody({ modelName, datasets: [listed] }),
    });
    expect(created.status, created.text).toBe(201);
    const byEvaluation = await remove(listed, alice.apiKey);
    expect(byEvaluation.status).toBe(409);
    expect(byEvaluation.body.detail).toBe(
      `${listed} is used by 1 evaluation(s) that list it (${modelName}); edit their datasets first, so it cannot be deleted`,
    );
    // Once the evaluation no longer lists it, it goes.
    const edited = await stack.api.request('PATCH', `/v1/evaluations/${created.body.id}`, {
      key: alice.apiKey,
      body: { datasets: [ARITH_BASIC_ID] },
    });
    expect(edited.status, edited.text).toBe(200);
    expect((await remove(listed, alice.apiKey)).status).toBe(204);
  });
});

describe('POST /v1/evaluations/{id}/copy', () => {
  it('copies everything but the name, runs and uploads; the key and judge keys sealed anew', async () => {
    const modelKey = `sk-model-${randomUUID()}`;
    const judgeKey = `sk-judge-${randomUUID()}`;
    const original = await stack.api.request('POST', '/v1/evaluations', {
      key: alice.apiKey,
      body: nlpEvaluationBody({
        deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1', onlineModelName: 'm', apiKey: modelKey },
        robustness: true,
        inference: { maxTokens: 64, temperature: 0.3 },
        limits: { maxConcurrency: 7 },
      }),
    });
    expect(original.status, original.text).toBe(201);
    const scoring = {
      default: { metric: 'judge', judge: { baseUrl: 'http://127.0.0.1:9/v1', model: 'j', apiKey: judgeKey } },
      limits: { maxJudgingConcurrency: 3 },
    };
    expect(
      (
        await stack.api.request('PUT', `/v1/evaluations/${original.body.id}/scoring`, {
          key: alice.apiKey,
          body: scoring,
        })
      ).status,
    ).toBe(200);

    const modelName = uniqueModelName('copy');
    const res = await stack.api.request('POST', `/v1/evaluations/${original.body.id}/copy`, {
      key: alice.apiKey,
      body: { modelName },
    });
    expect(res.status, res.text).toBe(201);
    const copy = res.body;
    expect(copy.id).not.toBe(original.body.id);
    expect(res.headers.get('location')).toBe(`/v1/evaluations/${copy.id}`);
    const { id: _a, modelName: _b, createdAt: _c, updatedAt: _d, ...rest } = original.body;
    expect(copy).toMatchObject({ ...rest, modelName });

    const [row] = await stack.db.select().from(evaluations).where(eq(evaluations.id, copy.id));
    expect(openSecret(stack.api.deps.env.secretKey, row!.apiKeyCipher!)).toBe(modelKey);
    const copiedScoring = await stack.api.request('GET', `/v1/evaluations/${copy.id}/scoring`, { key: alice.apiKey });
    expect(copiedScoring.body).toEqual(
      (await stack.api.request('GET', `/v1/evaluations/${original.body.id}/scoring`, { key: alice.apiKey })).body,
    );
    const [config] = await stack.db.select().from(scoringConfigs).where(eq(scoringConfigs.evaluationId, copy.id));
    const keyId = config!.config.default!.judge!.apiKeyId!;
    const [key] = await stack.db.select().from(judgeKeys).where(eq(judgeKeys.id, keyId));
    expect(key!.evaluationId).toBe(copy.id);
    expect(openSecret(stack.api.deps.env.secretKey, key!.cipher)).toBe(judgeKey);
    expect(res.text).not.toContain(modelKey);
    const runs = await stack.api.request('GET', `/v1/evaluations/${copy.id}/runs`, { key: alice.apiKey });
    expect(runs.body.items).toEqual([]);
  });

  it('refuses a taken or invalid name, someone else’s evaluation, and an unknown field, creating nothing', async () => {
    const original = await stack.api.request('POST', '/v1/evaluations', {
      key: alice.apiKey,
      body: nlpEvaluationBody(),
    });
    const copy = (body: unknown, key = alice.apiKey) =>
      stack.api.request('POST', `/v1/evaluations/${original.body.id}/copy`, { key, body });
    const count = async () =>
      (await stack.db.select().from(evaluations).where(eq(evaluations.ownerId, alice.id))).length;
    const before = await count();
    const taken = await copy({ modelName: original.body.modelName.toUpperCase() });
    expect(taken.status).toBe(400);
    expect(taken.body.errors).toEqual([
      { field: 'modelName', message: expect.stringMatching(/^must be 3–32 characters/) },
    ]);
    const same = await copy({ modelName: original.body.modelName });
    expect(same.body.errors).toEqual([{ field: 'modelName', message: expect.stringMatching(/is already taken/) }]);
    expect((await copy({})).body.errors).toEqual([{ field: 'modelName', message: 'is required' }]);
    expect((await copy({ modelName: uniqueModelName(), colour: 'red' })).status).toBe(400);
    expect((await copy({ modelName: uniqueModelName() }, bob.apiKey)).status).toBe(404);
    expect((await copy({ modelName: uniqueModelName() }, reviewer.apiKey)).status).toBe(403);
    expect(await count()).toBe(before);
  });
});
