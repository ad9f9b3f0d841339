/** What the manual-review tests share: evaluations over zh-open-qa against the reference model, and waits on the API. */
import { expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ZH_OPEN_QA_ID } from '../../datasets/builtin/zhOpenQa';
import { TERMINAL_STATUSES, type RunView } from '../../contracts/run';
import type { ReviewStatus, ReviewSummary } from '../../contracts/review';
import type { TestApi } from '../support/apiServer';
import { nlpEvaluationBody, registerDataset } from '../support/evaluationBodies';

/** Polls until `check` answers a value; bounded by `timeoutMs` so a stuck run fails with a reason. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A formal run of an evaluation over zh-open-qa and a one-item custom dataset, launched through the API. */
export async function launchSubjectiveRun(
  api: TestApi,
  key: string,
  modelUrl: string,
  modelType: 'sft' | 'base' = 'sft',
): Promise<{ evaluationId: string; runId: string; customDataset: string }> {
  const customDataset = await registerDataset(api, key, 'nlp');
  const body = nlpEvaluationBody({
    datasets: [ZH_OPEN_QA_ID, customDataset],
    deployment: {
      method: 'api',
      endpoint: modelUrl,
      onlineModelName: 'proctor-reference',
      apiKey: `sk-review-${randomUUID()}`,
      apiMode: 'chat',
    },
    modelInfo: { type: modelType, paperUrl: null, modelUrl: null },
  });
  const created = await api.request('POST', '/v1/evaluations', { key, body });
  expect(created.status, created.text).toBe(201);
  const launched = await api.request('POST', `/v1/evaluations/${created.body.id}/runs`, { key });
  expect(launched.status, launched.text).toBe(202);
  return { evaluationId: created.body.id, runId: launched.body.runId, customDataset };
}

export async function reviewOfRun(api: TestApi, key: string, runId: string): Promise<ReviewSummary | null> {
  const res = await api.request('GET', `/v1/runs/${runId}/manual-evaluation`, { key });
  if (res.status === 404) return null;
  expect(res.status, res.text).toBe(200);
  return res.body as ReviewSummary;
}

export function waitForReviewStatus(
  api: TestApi,
  key: string,
  runId: string,
  status: ReviewStatus,
): Promise<ReviewSummary> {
  return waitFor(`the review of run ${runId} is ${status}`, async () => {
    const review = await reviewOfRun(api, key, runId);
    return review?.status === status ? review : null;
  });
}

export function waitForRunEnd(api: TestApi, key: string, runId: string): Promise<RunView> {
  return waitFor(`run ${runId} ends`, async () => {
    const res = await api.request('GET', `/v1/runs/${runId}`, { key });
    expect(res.status, res.text).toBe(200);
    return TERMINAL_STATUSES.includes(res.body.status) ? (res.body as RunView) : null;
  });
}
