/**
 * Datasets and evaluations the comparison tests share. The two datasets pull models apart in
 * opposite directions: `sum` rewards a skilled model (the reference model answers it right with
 * probability `skill`), `trap` is multiple choice whose reference answer is the wrong option of
 * two, which the reference model picks exactly when it errs. So the ranking follows skill when
 * `trap` weighs nothing and reverses when `sum` weighs nothing.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApi } from '../support/apiServer';
import { inArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { comparisonRuns, comparisons, runs } from '../../db/schema';
import { nlpEvaluationBody, uniqueModelName } from '../support/evaluationBodies';

export interface ComparisonDatasets {
  sum: string;
  trap: string;
  /** A third dataset only some evaluations have. */
  extra: string;
}

function jsonl(rows: Record<string, unknown>[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

async function register(api: TestApi, key: string, body: Record<string, unknown>): Promise<string> {
  const res = await api.request('POST', '/v1/datasets', { key, body });
  expect(res.status, res.text).toBe(201);
  return body.id as string;
}

export async function registerComparisonDatasets(api: TestApi, key: string, size = 12): Promise<ComparisonDatasets> {
  const tag = randomUUID().slice(0, 8);
  const items = Array.from({ length: size }, (_, i) => ({ a: 11 + i * 3, b: 7 + i * 5 }));
  const sum = await register(api, key, {
    id: `cmp-sum-${tag}`,
    name: 'sums',
    domain: 'nlp',
    task: 'arithmetic',
    metric: 'exact_match',
    jsonl: jsonl(
      items.map(({ a, b }, i) => ({
        id: `s${i}`,
        prompt: `Compute ${a} + ${b}. Reply with the number only.`,
        ground_truth: String(a + b),
      })),
    ),
  });
  const trap = await register(api, key, {
    id: `cmp-trap-${tag}`,
    name: 'contrarian choices',
    domain: 'nlp',
    task: 'contrarian',
    metric: 'mc_accuracy',
    jsonl: jsonl(
      items.map(({ a, b }, i) => ({
        id: `t${i}`,
        prompt: `Which of the following equals ${a} + ${b}?\nA. ${a + b}\nB. ${a + b + 7}\nAnswer with the letter of the correct option.`,
        ground_truth: 'B',
        choices: [String(a + b), String(a + b + 7)],
      })),
    ),
  });
  const extra = await register(api, key, {
    id: `cmp-extra-${tag}`,
    name: 'extra',
    domain: 'nlp',
    task: 'extra',
    metric: 'exact_match',
    jsonl: jsonl([{ id: 'x1', prompt: 'Compute 1 + 1. Reply with the number only.', ground_truth: '2' }]),
  });
  return { sum, trap, extra };
}

/** An API evaluation of `datasets` served at `endpoint` (…/v1). */
export async function createEvaluation(
  api: TestApi,
  key: string,
  datasets: string[],
  endpoint = 'http://127.0.0.1:9/v1',
  apiKey = `sk-cmp-${randomUUID()}`,
): Promise<string> {
  const res = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      modelName: uniqueModelName('cmp'),
      datasets,
      deployment: { method: 'api', endpoint, onlineModelName: 'proctor-reference', apiKey, apiMode: 'chat' },
      limits: { maxConcurrency: 4, maxRetryPerQuery: 0, requestTimeoutMs: 10_000 },
    }),
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

/** A comparison of runs already written (runFixtures.insertRun), for tests that need one but no launch. */
export async function insertComparison(
  db: Db,
  ownerId: string,
  runIds: string[],
  datasetIds: string[],
): Promise<string> {
  const id = randomUUID();
  const rows = await db
    .select({ id: runs.id, evaluationId: runs.evaluationId })
    .from(runs)
    .where(inArray(runs.id, runIds));
  await db.insert(comparisons).values({ id, ownerId, name: 'fixture', domain: 'nlp', datasetIds });
  await db.insert(comparisonRuns).values(
    runIds.map((runId, position) => ({
      comparisonId: id,
      position,
      runId,
      evaluationId: rows.find((r) => r.id === runId)!.evaluationId,
    })),
  );
  return id;
}
