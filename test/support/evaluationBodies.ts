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
    deployment: {
      method: 'api',
      endpoint: 'http://127.0.0.1:9/v1',
      onlineModelName: 'm',
      apiKey: `sk-test-${randomUUID()}`,
      apiMode: 'chat',
    },
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

/** The id of the preloaded NLP serving image, as GET /v1/images lists it. */
export async function platformImageId(api: TestApi, key: string): Promise<string> {
  const res = await api.request('GET', '/v1/images?source=platform&domain=nlp', { key });
  if (res.status !== 200) throw new Error(`could not list images: ${res.status} ${res.text}`);
  const image = (res.body.items as { id: string; name: string }[]).find((i) => i.name === 'proctor-nlp-serving');
  if (!image) throw new Error(`no preloaded proctor-nlp-serving image in ${res.text}`);
  return image.id;
}

/** An image the key's owner imports for the domains, left pending review; returns its id. */
export async function pendingImageId(api: TestApi, key: string, domains: Domain[] = ['nlp']): Promise<string> {
  const res = await api.request('POST', '/v1/images', {
    key,
    body: {
      name: `img-${randomUUID().slice(0, 8)}`,
      tag: 'v1',
      url: 'ubuntu:22.04',
      dockerfile: 'FROM ubuntu:22.04\n',
      domains,
    },
  });
  if (res.status !== 201) throw new Error(`could not import an image: ${res.status} ${res.text}`);
  return res.body.id as string;
}

/** An image the key's owner imports for the domains and an admin approves; returns its id. */
export async function approvedImageId(api: TestApi, key: string, domains: Domain[]): Promise<string> {
  const imported = await api.request('POST', '/v1/images', {
    key,
    body: {
      name: `img-${randomUUID().slice(0, 8)}`,
      tag: 'v1',
      url: 'nvcr.io/nvidia/pytorch:23.03-py3',
      dockerfile: 'FROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir transformers==4.31.0\n',
      domains,
    },
  });
  if (imported.status !== 201) throw new Error(`could not import an image: ${imported.status} ${imported.text}`);
  const approved = await api.request('POST', `/v1/images/${imported.body.id}/approve`, { key: api.adminKey });
  if (approved.status !== 200) throw new Error(`could not approve an image: ${approved.status} ${approved.text}`);
  return imported.body.id as string;
}

/** A private deployment the API accepts: the given image on one unit of the first configured GPU type. */
export function privateDeploymentBody(
  api: TestApi,
  imageId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const gpuType = api.deps.env.containers.gpuTypes[0]!.id;
  return { method: 'private', imageId, priority: 'medium', gpuType, gpuCount: 1, ...overrides };
}
