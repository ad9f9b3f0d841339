/**
 * A run as its owner follows it over HTTP: launched with POST /v1/evaluations/{id}/runs, then read
 * with GET /v1/runs/{id} until its status is terminal.
 */
import { expect } from 'vitest';
import { TERMINAL_STATUSES, type RunView, type SampleResultView } from '../../contracts/run';
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

/** Launches a verification (1–3 drawn samples per dataset) or a formal run; its run id. */
export async function launchRun(
  api: TestApi,
  key: string,
  evaluationId: string,
  kind: 'verification' | 'formal',
  body: unknown = kind === 'verification' ? { samplesPerDataset: 3 } : {},
): Promise<string> {
  const res = await api.request(
    'POST',
    `/v1/evaluations/${evaluationId}/${kind === 'verification' ? 'verifications' : 'runs'}`,
    {
      key,
      body,
    },
  );
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

/** Every result row of one dataset of a run, page after page, in position order. */
export async function allResults(
  api: TestApi,
  key: string,
  runId: string,
  dataset: string,
): Promise<SampleResultView[]> {
  const all: SampleResultView[] = [];
  for (let cursor: string | undefined; ;) {
    const res = await api.request(
      'GET',
      `/v1/runs/${runId}/results?dataset=${dataset}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      { key },
    );
    expect(res.status, res.text).toBe(200);
    all.push(...(res.body.items as SampleResultView[]));
    cursor = res.body.nextCursor ?? undefined;
    if (!cursor) return all;
  }
}

/** Throws, with the datasets' reasons, when the run has already ended: a wait for something mid-run gives up at once. */
export async function expectRunning(api: TestApi, key: string, runId: string): Promise<void> {
  const run = (await api.request('GET', `/v1/runs/${runId}`, { key })).body as RunView;
  if (TERMINAL_STATUSES.includes(run.status))
    throw new Error(`the run ended ${run.status}: ${JSON.stringify(run.datasets.map((d) => d.error))}`);
}
