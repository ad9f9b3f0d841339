/**
 * Many small formal evaluations spread over many users, as the load benchmarks need them: each
 * user registers one arithmetic dataset of `samples` items (JSON Lines over POST /v1/datasets) and
 * creates their share of evaluations against the stand-in, round robin, so many owners have work.
 */
import { randomUUID } from 'node:crypto';
import { generateArithBasic } from '../datasets/builtin/arithBasic';
import { createUser, type BenchStack } from './benchStack';

export interface OwnedEvaluation {
  key: string;
  id: string;
}

export interface ManyEvaluationsOptions {
  users: number;
  evaluations: number;
  samples: number;
  /** Base URL of the stand-in model, ending in /v1. */
  endpoint: string;
  /** Names the datasets and models, so a benchmark's rows are told apart in the database. */
  prefix: string;
  /** Give each evaluation an API key (the stand-in accepts any), to include its sealing in the cost. */
  withApiKeys?: boolean;
}

export async function createManyEvaluations(
  stack: BenchStack,
  options: ManyEvaluationsOptions,
): Promise<{ keys: string[]; evaluations: OwnedEvaluation[] }> {
  const { users, evaluations: count, samples, endpoint, prefix } = options;
  const keys = await Promise.all(Array.from({ length: users }, () => createUser(stack)));
  const jsonl = generateArithBasic(samples)
    .map((item, i) => JSON.stringify({ ...item, id: `q${i}` }))
    .join('\n');
  const evaluations: OwnedEvaluation[] = [];
  await Promise.all(
    keys.map(async (key, u) => {
      const datasetId = `${prefix}-${randomUUID().slice(0, 8)}`;
      const registered = await stack.request('POST', '/v1/datasets', {
        key,
        body: {
          id: datasetId,
          name: `${prefix} arithmetic`,
          domain: 'nlp',
          task: 'arithmetic',
          metric: 'exact_match',
          jsonl,
        },
      });
      if (registered.status !== 201) throw new Error(`register: ${registered.status} ${registered.text}`);
      const mine = Math.floor(count / users) + (u < count % users ? 1 : 0);
      for (let i = 0; i < mine; i++) {
        const created = await stack.request('POST', '/v1/evaluations', {
          key,
          body: {
            domain: 'nlp',
            modelName: `${prefix}-${randomUUID().slice(0, 8)}`,
            datasets: [datasetId],
            deployment: {
              method: 'api',
              endpoint,
              onlineModelName: 'proctor-reference',
              ...(options.withApiKeys ? { apiKey: `sk-bench-${randomUUID()}` } : {}),
              apiMode: 'chat',
            },
            robustness: false,
            modelInfo: { type: 'sft' },
            acknowledgeNoTestAnnotations: true,
            limits: { maxConcurrency: 4, maxRetryPerQuery: 3, requestTimeoutMs: 60_000 },
          },
        });
        if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
        evaluations.push({ key, id: created.body.id });
      }
    }),
  );
  return { keys, evaluations };
}
