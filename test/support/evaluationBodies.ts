/** Request bodies the API tests start from: valid as they are, so a test changes only what it checks. */
import { randomUUID } from 'node:crypto';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import type { Domain } from '../../contracts/domain';
import type { TestApi } from './apiServer';

/** A fresh NLP model name that satisfies the NLP rule. */
export function uniqueModelName(prefix = 'm'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function nlpEvaluationBody(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    domain: 'nlp',
    modelName: uniqueModelName(),
    description: 'a model under test',
    datasets: [ARITH_BASIC_ID, WORD_REVERSE_ID],
    deployment: { method: 'api', endpoint: 'http://127.0.0.1:9/v1', onlineModelName: 'm', apiKey: `sk-test-${randomUUID()}`, apiMode: 'chat' },
    robustness: false,
    modelInfo: { type: 'sft', paperUrl: null, modelUrl: null },
    acknowledgeNoTestAnnotations: true,
    ...overrides,
  };
}

/** Registers a one-item custom dataset of the domain for the key's owner and returns its id. */
export async function registerDataset(api: TestApi, key: string, domain: Domain): Promise<string> {
  const id = `ds-${domain}-${randomUUID().slice(0, 8)}`;
  const res = await api.request('POST', '/v1/datasets', {
    key,
    body: {
      id,
      name: `custom ${domain}`,
      domain,
      task: 'custom',
      metric: 'exact_match',
      jsonl: `${JSON.stringify({ id: 'q1', prompt: 'Say yes.', ground_truth: 'yes' })}\n`,
    },
  });
  if (res.status !== 201) throw new Error(`could not register a dataset: ${res.status} ${res.text}`);
  return id;
}
