/**
 * Reuse of finished dataset results, through HTTP against the stand-in model with real workers: a
 * formal run identical to an earlier one of the same owner copies its result and sends the model
 * nothing; a changed input, `reuse: false`, another owner or a verification infer afresh.
 */
import { describe, expect, it } from 'vitest';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import type { RunView, SampleResultView } from '../../contracts/run';
import { fingerprintOf } from '../../db/queries/reuse';
import { waitForRunEnd } from '../support/runThroughApi';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { useTestStack } from '../support/testStack';

const SIZE = 500;

// Wrong now and then, so a copied result is recognisably the same result.
const stack = useTestStack({ api: true, workers: true, model: { skill: 0.7, seed: 4242, latencyMs: 0 } });

const waitForEnd = (key: string, runId: string): Promise<RunView> => waitForRunEnd(stack.api, key, runId, 120_000);

async function results(
  key: string,
  runId: string,
): Promise<Map<string, Pick<SampleResultView, 'predict' | 'score' | 'status'>>> {
  const out = new Map<string, Pick<SampleResultView, 'predict' | 'score' | 'status'>>();
  let cursor: string | null = null;
  do {
    const res = await stack.api.request(
      'GET',
      `/v1/runs/${runId}/results?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { key },
    );
    expect(res.status).toBe(200);
    for (const r of res.body.items as SampleResultView[])
      out.set(r.id, { predict: r.predict, score: r.score, status: r.status });
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

async function logText(key: string, runId: string): Promise<string> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=500`, { key });
  expect(res.status).toBe(200);
  return (res.body.items as { message: string }[]).map((l) => l.message).join('\n');
}

/** Launches a formal run, waits for it and says how many inference requests the model received meanwhile. */
async function formalRun(
  key: string,
  evaluationId: string,
  body?: unknown,
): Promise<{ view: RunView; requests: number }> {
  const before = stack.model.stats().requests;
  const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, {
    key,
    ...(body === undefined ? {} : { body }),
  });
  expect(launched.status, launched.text).toBe(202);
  const view = await waitForEnd(key, launched.body.runId);
  expect(view.status, JSON.stringify({ error: view.error, datasets: view.datasets.map((d) => d.error) })).toBe(
    'succeeded',
  );
  return { view, requests: stack.model.stats().requests - before };
}

function evaluationBody(): Record<string, unknown> {
  return nlpEvaluationBody({
    datasets: [ARITH_MC_ID],
    deployment: { method: 'api', endpoint: stack.model.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
  });
}

describe('result reuse', () => {
  it('reuses an identical finished result of the same owner, and nothing else', async () => {
    const a = await stack.api.createUser('user');
    const created = await stack.api.request('POST', '/v1/evaluations', { key: a.apiKey, body: evaluationBody() });
    expect(created.status).toBe(201);
    const evaluationId = created.body.id as string;

    const first = await formalRun(a.apiKey, evaluationId);
    expect(first.requests).toBeGreaterThanOrEqual(SIZE);
    expect(first.view.datasets[0]!.reusedFrom).toBeNull();
    const firstScore = first.view.datasets[0]!.metrics!.score;
    expect(firstScore).toBeGreaterThan(0);
    expect(firstScore).toBeLessThan(1);

    // Identical: nothing reaches the model, the result is the first run's.
    const second = await formalRun(a.apiKey, evaluationId);
    expect(second.requests).toBe(0);
    expect(second.view.datasets[0]).toMatchObject({
      status: 'succeeded',
      done: SIZE,
      total: SIZE,
      reusedFrom: { runId: first.view.runId, version: first.view.version },
    });
    expect(second.view.datasets[0]!.metrics!.score).toBe(firstScore);
    expect(second.view.overallScore).toBe(first.view.overallScore);
    const firstResults = await results(a.apiKey, first.view.runId);
    expect(firstResults.size).toBe(SIZE);
    expect(await results(a.apiKey, second.view.runId)).toEqual(firstResults);
    expect(await logText(a.apiKey, second.view.runId)).toContain(
      `dataset ${ARITH_MC_ID} reused from run ${first.view.runId} (v${first.view.version})`,
    );
    expect(await logText(a.apiKey, first.view.runId)).not.toContain('reused from');

    // Opting out infers again.
    const fresh = await formalRun(a.apiKey, evaluationId, { reuse: false });
    expect(fresh.requests).toBeGreaterThanOrEqual(SIZE);
    expect(fresh.view.datasets[0]!.reusedFrom).toBeNull();

    // Concurrency does not change answers: still reused.
    expect(
      (
        await stack.api.request('PATCH', `/v1/evaluations/${evaluationId}`, {
          key: a.apiKey,
          body: { limits: { maxConcurrency: 7 } },
        })
      ).status,
    ).toBe(200);
    const fewerLanes = await formalRun(a.apiKey, evaluationId);
    expect(fewerLanes.requests).toBe(0);
    expect(fewerLanes.view.datasets[0]!.reusedFrom).not.toBeNull();

    // One input that does change answers: inferred again.
    expect(
      (
        await stack.api.request('PATCH', `/v1/evaluations/${evaluationId}`, {
          key: a.apiKey,
          body: { inference: { temperature: 0.5 } },
        })
      ).status,
    ).toBe(200);
    const warmer = await formalRun(a.apiKey, evaluationId);
    expect(warmer.requests).toBeGreaterThanOrEqual(SIZE);
    expect(warmer.view.datasets[0]!.reusedFrom).toBeNull();
    expect(await logText(a.apiKey, warmer.view.runId)).not.toContain('reused from');

    // Verifications neither reuse nor record a fingerprint.
    const before = stack.model.stats().requests;
    const verification = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key: a.apiKey,
      body: { samplesPerDataset: 2, seed: 3 },
    });
    expect(verification.status).toBe(202);
    expect((await waitForEnd(a.apiKey, verification.body.runId)).status).toBe('succeeded');
    expect(stack.model.stats().requests - before).toBeGreaterThanOrEqual(2);
    expect(await fingerprintOf(stack.api.deps.db, verification.body.runId, ARITH_MC_ID)).toBeNull();

    // Another owner's run of the same model on the same data has the same fingerprint, and reuses nothing.
    const b = await stack.api.createUser('user');
    const other = await stack.api.request('POST', '/v1/evaluations', { key: b.apiKey, body: evaluationBody() });
    expect(other.status).toBe(201);
    const stranger = await formalRun(b.apiKey, other.body.id);
    expect(await fingerprintOf(stack.api.deps.db, stranger.view.runId, ARITH_MC_ID)).toBe(
      await fingerprintOf(stack.api.deps.db, first.view.runId, ARITH_MC_ID),
    );
    expect(stranger.requests).toBeGreaterThanOrEqual(SIZE);
    expect(stranger.view.datasets[0]!.reusedFrom).toBeNull();
  });
});
