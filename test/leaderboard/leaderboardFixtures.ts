/** What the leaderboard tests set up through HTTP: users with chosen names, evaluations against a model, finished runs. */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { TERMINAL_STATUSES, type RunView } from '../../contracts/run';
import { workflowIds } from '../../temporal.config';
import type { TestApi } from '../support/apiServer';

export interface TestUser {
  id: string;
  apiKey: string;
  name: string;
  organization: string;
  email: string;
}

export async function createNamedUser(
  api: TestApi,
  name: string,
  organization: string,
  role: 'user' | 'reviewer' = 'user',
): Promise<TestUser> {
  const email = `lb-${randomUUID().slice(0, 8)}@example.test`;
  const res = await api.request('POST', '/v1/users', { key: api.adminKey, body: { name, organization, email, role } });
  if (res.status !== 201) throw new Error(`could not create a user: ${res.status} ${res.text}`);
  return { ...(res.body as { id: string; apiKey: string }), name, organization, email };
}

export async function createEvaluation(
  api: TestApi,
  key: string,
  modelUrl: string,
  datasets: string[],
): Promise<{ id: string; modelName: string }> {
  const modelName = `lb-${randomUUID().slice(0, 8)}`;
  const res = await api.request('POST', '/v1/evaluations', {
    key,
    body: {
      domain: 'nlp',
      modelName,
      datasets,
      deployment: {
        method: 'api',
        endpoint: modelUrl,
        onlineModelName: 'proctor-reference',
        apiKey: `sk-lb-${randomUUID()}`,
        apiMode: 'chat',
      },
      robustness: false,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      limits: { maxConcurrency: 24, maxRetryPerQuery: 0 },
    },
  });
  if (res.status !== 201) throw new Error(`could not create an evaluation: ${res.status} ${res.text}`);
  return { id: res.body.id as string, modelName };
}

export async function launch(
  api: TestApi,
  key: string,
  evaluationId: string,
  kind: 'runs' | 'verifications',
): Promise<string> {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, {
    key,
    body: kind === 'verifications' ? { samplesPerDataset: 2 } : undefined,
  });
  if (res.status !== 202) throw new Error(`could not launch: ${res.status} ${res.text}`);
  return res.body.runId as string;
}

/**
 * Waits for the run's workflow to return, then reads the run: by then a formal run that succeeded
 * has its submission window open and its publication workflow started.
 */
export async function finishedRun(api: TestApi, key: string, runId: string): Promise<RunView> {
  await api.deps.temporal.workflow.getHandle(workflowIds.run(runId)).result();
  const res = await api.request('GET', `/v1/runs/${runId}`, { key });
  expect(res.status).toBe(200);
  const view = res.body as RunView;
  expect(TERMINAL_STATUSES).toContain(view.status);
  return view;
}

export async function submit(api: TestApi, key: string, runId: string, mode: unknown) {
  return api.request('POST', `/v1/runs/${runId}/leaderboard`, { key, body: { mode } });
}
