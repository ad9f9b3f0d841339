/**
 * Idempotency-Key on launches and stops: a retried request answers with the run the first one launched and
 * spends no second quota slot — also when twenty copies race — and a key reused for another
 * request, or a malformed key, is refused with the header named.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { idempotencyKeys, runs } from '../../db/schema';
import { workflowIds } from '../../temporal.config';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { interceptWorkflowStarts } from '../support/workflowStarts';

let api: TestApi;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

async function userWithEvaluation(): Promise<{ key: string; userId: string; evaluationId: string }> {
  const user = await api.createUser();
  const created = await api.request('POST', '/v1/evaluations', { key: user.apiKey, body: nlpEvaluationBody() });
  expect(created.status, created.text).toBe(201);
  return { key: user.apiKey, userId: user.id, evaluationId: created.body.id };
}

async function formalUsed(key: string): Promise<number> {
  const me = await api.request('GET', '/v1/me', { key });
  return me.body.quota.formal.used as number;
}

async function runsOf(evaluationId: string) {
  return api.deps.db.select().from(runs).where(eq(runs.evaluationId, evaluationId));
}

describe('Idempotency-Key on launches', () => {
  it('answers a retried formal launch with the same run, marked replayed, and spends one quota slot', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': `launch-${randomUUID()}` };
    const first = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
    expect(first.status, first.text).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await formalUsed(key)).toBe(1);
    expect(await runsOf(evaluationId)).toHaveLength(1);

    // Without a key, or with another one, a launch is a new run.
    const other = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, {
      key,
      headers: { 'Idempotency-Key': `launch-${randomUUID()}` },
    });
    const none = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect([other.status, none.status]).toEqual([202, 202]);
    expect(new Set([first.body.runId, other.body.runId, none.body.runId]).size).toBe(3);
    expect(await formalUsed(key)).toBe(3);
  });

  it('launches exactly one run when twenty requests with one key race', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': randomUUID() };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(new Set(answers.map((a) => a.body.runId)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(await runsOf(evaluationId)).toHaveLength(1);
    expect(await formalUsed(key)).toBe(1);
  });

  it('answers the first request as launched when a replay started the workflow before it did', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': randomUUID() };
    const starts = interceptWorkflowStarts(api.deps.temporal);
    try {
      const first = api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
      await expect.poll(starts.calls, { timeout: 10_000 }).toBe(1);
      const replay = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
      expect(replay.status, replay.text).toBe(202);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      starts.release();
      const answer = await first;
      expect(answer.status, answer.text).toBe(202);
      expect(answer.body.runId).toBe(replay.body.runId);
    } finally {
      starts.restore();
    }
    const [run] = await runsOf(evaluationId);
    expect(run?.status).not.toBe('failed');
    expect(await formalUsed(key)).toBe(1);
    await api.deps.temporal.workflow.getHandle(workflowIds.run(run!.id)).describe();
  });

  it('answers a replay with 503 and a retry hint when it finds the run queued and cannot reach Temporal, and fails nothing', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': randomUUID() };
    const starts = interceptWorkflowStarts(api.deps.temporal, { failing: [1] });
    try {
      const first = api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
      await expect.poll(starts.calls, { timeout: 10_000 }).toBe(1);
      const replay = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
      expect(replay.status, replay.text).toBe(503);
      expect(replay.headers.get('content-type')).toContain('application/problem+json');
      expect(replay.body.detail).toMatch(
        /^run v1 was launched by the first request with this Idempotency-Key, .*retry with the same key/,
      );
      starts.release();
      const answer = await first;
      expect(answer.status, answer.text).toBe(202);
    } finally {
      starts.restore();
    }
    const [run] = await runsOf(evaluationId);
    expect(run?.status).not.toBe('failed');
    expect(await formalUsed(key)).toBe(1);
  });

  it('replays a verification launched without a seed with the same run, not a new draw', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': randomUUID() };
    const first = await api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      headers,
      body: { samplesPerDataset: 2 },
    });
    const again = await api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      headers,
      body: { samplesPerDataset: 2 },
    });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body.runId).toBe(first.body.runId);
    expect(await runsOf(evaluationId)).toHaveLength(1);
  });

  it('refuses a key reused for a different request with 422 naming the header, and launches nothing', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': randomUUID() };
    const first = await api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      headers,
      body: { samplesPerDataset: 1 },
    });
    expect(first.status).toBe(202);
    const different = await api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      headers,
      body: { samplesPerDataset: 3 },
    });
    expect(different.status).toBe(422);
    expect(different.headers.get('content-type')).toContain('application/problem+json');
    expect(different.body.errors).toEqual([
      { field: 'Idempotency-Key', message: 'was already used for a different request' },
    ]);
    const elsewhere = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
    expect(elsewhere.status).toBe(422);
    expect(await runsOf(evaluationId)).toHaveLength(1);
    expect(await formalUsed(key)).toBe(0);
  });

  it('refuses a malformed key with 400 naming the header', async () => {
    const { key, evaluationId } = await userWithEvaluation();
    for (const bad of ['x'.repeat(256), 'has space', 'caf\u00e9']) {
      const res = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, {
        key,
        headers: { 'Idempotency-Key': bad },
      });
      expect(res.status, bad).toBe(400);
      expect(res.body.errors).toEqual([
        { field: 'Idempotency-Key', message: 'must be 1–255 visible ASCII characters' },
      ]);
    }
    expect(await runsOf(evaluationId)).toHaveLength(0);
  });

  it('does not pin a refused launch to its key: the retry is judged afresh', async () => {
    const { key, userId, evaluationId } = await userWithEvaluation();
    const headers = { 'Idempotency-Key': randomUUID() };
    // The month's five formal launches are used up: the keyed launch is refused inside its transaction.
    for (let i = 0; i < 5; i++)
      expect((await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key })).status).toBe(202);
    const refused = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers });
    expect(refused.status).toBe(429);
    const rows = await api.deps.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, headers['Idempotency-Key'])));
    expect(rows).toEqual([]);
    expect((await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, headers })).status).toBe(429);
  });
});

describe('Idempotency-Key on stops', () => {
  async function launchedVerification() {
    const owner = await userWithEvaluation();
    const launched = await api.request('POST', `/v1/evaluations/${owner.evaluationId}/verifications`, {
      key: owner.key,
      body: { samplesPerDataset: 1 },
    });
    expect(launched.status, launched.text).toBe(202);
    return { ...owner, runId: launched.body.runId as string };
  }

  it('answers a retried stop like the first, with the same stop time, while the run is stopping', async () => {
    // No worker serves the test's Temporal queues here: the run stays queued with the stop asked for.
    const { key, runId } = await launchedVerification();
    const headers = { 'Idempotency-Key': randomUUID() };
    const first = await api.request('POST', `/v1/runs/${runId}/stop`, { key, headers });
    expect(first.status, first.text).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await api.request('POST', `/v1/runs/${runId}/stop`, { key, headers });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('answers a retried stop with 202 once the run has ended, where a fresh stop gets 409', async () => {
    const { key, runId } = await launchedVerification();
    // The workflow is gone, so the API closes the run itself: the stop ends it at once.
    await api.deps.temporal.workflow.getHandle(workflowIds.run(runId)).terminate('test: no workflow to signal');
    const headers = { 'Idempotency-Key': randomUUID() };
    const first = await api.request('POST', `/v1/runs/${runId}/stop`, { key, headers });
    expect(first.status, first.text).toBe(202);
    expect(first.body.status).toBe('stopped');
    const again = await api.request('POST', `/v1/runs/${runId}/stop`, { key, headers });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const fresh = await api.request('POST', `/v1/runs/${runId}/stop`, {
      key,
      headers: { 'Idempotency-Key': randomUUID() },
    });
    expect(fresh.status).toBe(409);
    const [row] = await api.deps.db.select().from(runs).where(eq(runs.id, runId));
    expect(row!.stopRequestedAt!.toISOString()).toBe(first.body.stopRequestedAt);
  });

  it('refuses a stop key reused for another run, or a launch key reused for a stop, with 422, and stops nothing', async () => {
    const a = await launchedVerification();
    const b = await launchedVerification();
    const stopKey = { 'Idempotency-Key': randomUUID() };
    expect((await api.request('POST', `/v1/runs/${a.runId}/stop`, { key: a.key, headers: stopKey })).status).toBe(202);
    // Another run of the same owner: keys are per user.
    const b2 = await api.request('POST', `/v1/evaluations/${a.evaluationId}/verifications`, {
      key: a.key,
      body: { samplesPerDataset: 1 },
    });
    const reused = await api.request('POST', `/v1/runs/${b2.body.runId}/stop`, { key: a.key, headers: stopKey });
    expect(reused.status).toBe(422);
    expect(reused.body.errors).toEqual([
      { field: 'Idempotency-Key', message: 'was already used for a different request' },
    ]);

    const launchKey = { 'Idempotency-Key': randomUUID() };
    const launched = await api.request('POST', `/v1/evaluations/${b.evaluationId}/verifications`, {
      key: b.key,
      headers: launchKey,
      body: { samplesPerDataset: 1 },
    });
    expect(launched.status).toBe(202);
    const crossed = await api.request('POST', `/v1/runs/${launched.body.runId}/stop`, {
      key: b.key,
      headers: launchKey,
    });
    expect(crossed.status).toBe(422);
    const untouched = await api.deps.db.select().from(runs).where(eq(runs.id, b2.body.runId));
    const alsoUntouched = await api.deps.db.select().from(runs).where(eq(runs.id, launched.body.runId));
    expect([untouched[0]!.stopRequestedAt, alsoUntouched[0]!.stopRequestedAt]).toEqual([null, null]);
  });

  it('refuses a malformed key on a stop with 400 naming the header', async () => {
    const { key, runId } = await launchedVerification();
    const res = await api.request('POST', `/v1/runs/${runId}/stop`, {
      key,
      headers: { 'Idempotency-Key': 'has space' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'must be 1–255 visible ASCII characters' }]);
    const [row] = await api.deps.db.select().from(runs).where(eq(runs.id, runId));
    expect(row!.stopRequestedAt).toBeNull();
  });
});
