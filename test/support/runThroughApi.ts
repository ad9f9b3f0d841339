/**
 * A run as its owner follows it over HTTP: launched with POST /v1/evaluations/{id}/runs, then read
 * with GET /v1/runs/{id} until its status is terminal.
 */
import { expect } from 'vitest';
import { TERMINAL_STATUSES, type RunView } from '../../contracts/run';
import type { TestApi } from './apiServer';

export async function waitForRunEnd(
  api: TestApi,
  key: string,
  runId: string,
  timeoutMs = 150_000,
  pollMs = 250,
): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request('GET', `/v1/runs/${runId}`, { key });
    if (res.status !== 200) throw new Error(`GET /v1/runs/${runId}: ${res.status} ${res.text}`);
    const view = res.body as RunView;
    if (TERMINAL_STATUSES.includes(view.status)) return view;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} is still ${view.status} (${view.progress.done}/${view.progress.total})`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Launches a formal run of the evaluation and waits for it to end. */
export async function launchAndWaitForEnd(
  api: TestApi,
  key: string,
  evaluationId: string,
  timeoutMs?: number,
): Promise<RunView> {
  const launched = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
  expect(launched.status, launched.text).toBe(202);
  return waitForRunEnd(api, key, launched.body.runId as string, timeoutMs);
}
