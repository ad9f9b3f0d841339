/**
 * Model names are unique platform-wide regardless of case, and the database decides: concurrent
 * creations of one name (in any mix of cases) yield exactly one evaluation, the rest a 400 that
 * names modelName, however the requests interleave with the API's early check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { evaluations } from '../../db/schema';
import { insertEvaluation, ModelNameTaken } from '../../db/queries/evaluations';
import { DEFAULT_INFERENCE, DEFAULT_LIMITS } from '../../contracts/evaluation';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody, registerDataset } from '../support/evaluationBodies';

let api: TestApi;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

/** The i-th spelling of `name` whose letters are upper- or lowercase by the bits of i. */
function caseVariant(name: string, i: number): string {
  let bit = 0;
  return [...name].map((c) => (/[a-z]/i.test(c) ? ((i >> bit++) & 1 ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
}

async function rowsNamed(name: string): Promise<number> {
  const rows = await api.deps.db
    .select({ id: evaluations.id })
    .from(evaluations)
    .where(sql`lower(${evaluations.modelName}) = lower(${name})`);
  return rows.length;
}

describe('model-name races', () => {
  it('20 concurrent creations of one name in varying case: exactly one 201, the rest 400 naming modelName', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => api.createUser()));
    const datasets = await Promise.all(users.map((u) => registerDataset(api, u.apiKey, 'multimodal')));
    const base = `racemodel-${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 20 }, (_, i) => caseVariant(base, i));
    expect(new Set(names).size).toBe(20);

    const results = await Promise.all(
      names.map((modelName, i) =>
        api.request('POST', '/v1/evaluations', {
          key: users[i % users.length]!.apiKey,
          body: nlpEvaluationBody({ domain: 'multimodal', modelName, datasets: [datasets[i % users.length]] }),
        }),
      ),
    );

    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(created).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const res of refused) {
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'modelName', message: expect.stringMatching(/is already taken/) }]);
    }
    expect(await rowsNamed(base)).toBe(1);
  });

  it('the unique index refuses a name differing only in case even without the early check', async () => {
    const user = await api.createUser();
    const name = `Indexed-${randomBytes(3).toString('hex')}`;
    const values = {
      ownerId: user.id,
      domain: 'multimodal' as const,
      modelName: name,
      datasetIds: ['arith-basic'],
      deployment: { method: 'api' as const, endpoint: 'http://h/v1', apiKeySet: false },
      robustness: false,
      modelInfo: { type: 'base' as const },
      inference: DEFAULT_INFERENCE,
      limits: DEFAULT_LIMITS,
    };
    await insertEvaluation(api.deps.db, values);
    await expect(insertEvaluation(api.deps.db, { ...values, modelName: name.toLowerCase() })).rejects.toBeInstanceOf(
      ModelNameTaken,
    );
    await expect(insertEvaluation(api.deps.db, { ...values, modelName: name.toUpperCase() })).rejects.toBeInstanceOf(
      ModelNameTaken,
    );
    expect(await rowsNamed(name)).toBe(1);
  });

  it('concurrent creations of different names all succeed', async () => {
    const user = await api.createUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api.request('POST', '/v1/evaluations', {
          key: user.apiKey,
          body: nlpEvaluationBody({ modelName: `many-${i}-${randomBytes(3).toString('hex')}` }),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
  });
});
