/**
 * Comparisons through HTTP, on real PostgreSQL and Temporal with real workers: three reference
 * models of known skill evaluated in one task (progress grows to 1, the ranking follows skill, and
 * weights reverse it when they should), the 4xx answers naming fields, the quota taken all or
 * nothing and race-free, Idempotency-Key, stopping, and strangers refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { comparisons, quotaUsage, runs, sampleResults } from '../../db/schema';
import { utcMonth } from '../../db/queries/quota';
import type { ComparisonView, RankingView } from '../../contracts/comparison';
import { overallScore, taskScores } from '../../scoring/scoreAggregation';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { createEvaluation, registerComparisonDatasets, type ComparisonDatasets } from './comparisonFixtures';
import { historyTimeline } from '../support/historyTimeline';
import { setFormalUsed } from '../support/quotaFixtures';
import { workflowIds } from '../../temporal.config';
import { interceptWorkflowStarts } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: true,
  models: {
    half: { skill: 0.5, seed: 4242, latencyMs: 0 },
    right: { skill: 1, seed: 4242, latencyMs: 0 },
    wrong: { skill: 0, seed: 4242, latencyMs: 0 },
    // Slower than the test, so a comparison launched against it is still running when it is stopped.
    slow: { latencyMs: 60_000 },
  },
});

const setUsed = (userId: string, used: number) => setFormalUsed(stack.db, userId, used);

async function formalUsed(userId: string): Promise<number> {
  const [row] = await stack.db
    .select({ used: quotaUsage.used })
    .from(quotaUsage)
    .where(
      and(eq(quotaUsage.userId, userId), eq(quotaUsage.month, utcMonth(new Date())), eq(quotaUsage.kind, 'formal')),
    );
  return row?.used ?? 0;
}

async function runsOf(evaluationIds: string[]) {
  return stack.db.select().from(runs).where(inArray(runs.evaluationId, evaluationIds));
}

async function waitForEnd(key: string, id: string): Promise<ComparisonView[]> {
  const seen: ComparisonView[] = [];
  const deadline = Date.now() + 150_000;
  for (;;) {
    const res = await stack.api.request('GET', `/v1/comparisons/${id}`, { key });
    expect(res.status, res.text).toBe(200);
    seen.push(res.body);
    if (['succeeded', 'failed', 'stopped'].includes(res.body.status)) return seen;
    if (Date.now() > deadline)
      throw new Error(
        `comparison ${id} is still ${res.body.status} (${res.body.progress.done}/${res.body.progress.total})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const order = (ranking: RankingView) => ranking.models.map((m) => m.position);

describe('a comparison of three models', () => {
  it('evaluates every model, reports progress over models × entries and ranks with adjustable weights', async () => {
    const user = await stack.api.createUser();
    const ds = await registerComparisonDatasets(stack.api, user.apiKey, 12);
    const evaluationIds = [];
    for (const m of [stack.models.half, stack.models.right, stack.models.wrong])
      evaluationIds.push(await createEvaluation(stack.api, user.apiKey, [ds.sum, ds.trap, ds.extra], m.url));

    const created = await stack.api.request('POST', '/v1/comparisons', {
      key: user.apiKey,
      body: {
        name: 'three skills',
        evaluationIds,
        datasets: [ds.sum, ds.trap],
        weights: { metrics: { mc_accuracy: 0 } },
      },
    });
    expect(created.status, created.text).toBe(201);
    const comparison = created.body as ComparisonView;
    expect(comparison.models.map((m) => m.evaluationId)).toEqual(evaluationIds);
    expect(comparison.progress.total).toBe(3 * 24);
    expect(await formalUsed(user.id)).toBe(3);
    const launched = await runsOf(evaluationIds);
    expect(launched.map((r) => r.type)).toEqual(['formal', 'formal', 'formal']);
    // Only the comparison's datasets run, not the evaluation's third.
    for (const r of launched) expect(r.config.datasets.map((d) => d.datasetId)).toEqual([ds.sum, ds.trap]);

    const views = await waitForEnd(user.apiKey, comparison.comparisonId);
    const end = views.at(-1)!;
    expect(end.status).toBe('succeeded');
    expect(end.progress).toEqual({ done: 72, total: 72, fraction: 1, percent: 100 });
    for (const m of end.models) expect(m.progress).toMatchObject({ done: 24, total: 24, fraction: 1 });
    // Each model's tokens are its run's, as its run view sums them.
    for (const m of end.models) {
      const run = await stack.api.request('GET', `/v1/runs/${m.runId}`, { key: user.apiKey });
      expect(m.usage).toEqual(run.body.usage);
      expect(m.usage.samples).toBeGreaterThan(0);
      expect(m.usage.promptTokens).toBeGreaterThan(0);
    }
    // Progress never went back.
    for (let i = 1; i < views.length; i++)
      expect(views[i]!.progress.done).toBeGreaterThanOrEqual(views[i - 1]!.progress.done);

    // Stored weights (mc_accuracy 0): only the sums count, so the order is by skill: 1, 0.5, 0.
    const stored = await stack.api.request('GET', `/v1/comparisons/${comparison.comparisonId}/ranking`, {
      key: user.apiKey,
    });
    expect(stored.status, stored.text).toBe(200);
    const byStored = stored.body as RankingView;
    expect(byStored.final).toBe(true);
    expect(order(byStored)).toEqual([1, 0, 2]);
    expect(byStored.models.map((m) => m.rank)).toEqual([1, 2, 3]);
    expect(byStored.models[0]!.weightedScore).toBe(1);
    expect(byStored.models[2]!.weightedScore).toBe(0);
    const mid = byStored.models[1]!;
    expect(mid.weightedScore).toBeGreaterThan(0);
    expect(mid.weightedScore).toBeLessThan(1);
    expect(mid.datasets.map((d) => [d.dataset, d.weight])).toEqual([
      [ds.sum, 1],
      [ds.trap, 0],
    ]);
    expect(mid.weightedScore).toBeCloseTo(mid.datasets[0]!.score!, 12);

    // Weights for one answer: the trap alone reverses the order; nothing is stored.
    const reversed = await stack.api.request(
      'GET',
      `/v1/comparisons/${comparison.comparisonId}/ranking?weights=${encodeURIComponent(JSON.stringify({ datasets: { [ds.sum]: 0 } }))}`,
      { key: user.apiKey },
    );
    expect(reversed.status, reversed.text).toBe(200);
    expect(order(reversed.body)).toEqual([2, 0, 1]);
    expect(
      (await stack.api.request('GET', `/v1/comparisons/${comparison.comparisonId}`, { key: user.apiKey })).body.weights,
    ).toEqual({ metrics: { mc_accuracy: 0 } });

    // Equal weights: the weighted score of each model is its run's overall score (mean of task means).
    const equal = await stack.api.request('PUT', `/v1/comparisons/${comparison.comparisonId}/weights`, {
      key: user.apiKey,
      body: {},
    });
    expect(equal.status, equal.text).toBe(200);
    for (const m of equal.body.models as RankingView['models']) {
      const run = launched.find((r) => r.id === m.runId)!;
      const [row] = await stack.db.select().from(runs).where(eq(runs.id, run.id));
      expect(m.weightedScore).toBeCloseTo(row!.overallScore!, 12);
      expect(m.weightedScore).toBeCloseTo(
        overallScore(
          taskScores(
            m.datasets.map((d) => ({ task: d.task, status: d.status, metrics: { score: d.score! } as never })),
          ),
        ) ?? NaN,
        12,
      );
    }
    // Stored now: the plain GET answers with them.
    expect(
      (await stack.api.request('GET', `/v1/comparisons/${comparison.comparisonId}`, { key: user.apiKey })).body.weights,
    ).toEqual({});

    const listed = await stack.api.request('GET', '/v1/comparisons', { key: user.apiKey });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      (await stack.api.request('GET', `/v1/comparisons/${comparison.comparisonId}`, { key: user.apiKey })).body,
    ]);

    // Another user sees nothing and stops nothing.
    const stranger = await stack.api.createUser();
    expect((await stack.api.request('GET', '/v1/comparisons', { key: stranger.apiKey })).body).toEqual([]);
    for (const [method, path] of [
      ['GET', ''],
      ['GET', '/ranking'],
      ['POST', '/stop'],
    ] as const) {
      const res = await stack.api.request(method, `/v1/comparisons/${comparison.comparisonId}${path}`, {
        key: stranger.apiKey,
      });
      expect(res.status).toBe(404);
    }
    expect(
      (
        await stack.api.request('PUT', `/v1/comparisons/${comparison.comparisonId}/weights`, {
          key: stranger.apiKey,
          body: { datasets: { [ds.sum]: 5 } },
        })
      ).status,
    ).toBe(404);
    expect(
      (await stack.api.request('GET', `/v1/comparisons/${comparison.comparisonId}`, { key: user.apiKey })).body.weights,
    ).toEqual({});
    // An ended comparison cannot be stopped.
    expect(
      (await stack.api.request('POST', `/v1/comparisons/${comparison.comparisonId}/stop`, { key: user.apiKey })).status,
    ).toBe(409);
  });
});

describe('creating a comparison', () => {
  let user: { id: string; apiKey: string };
  let ds: ComparisonDatasets;
  beforeAll(async () => {
    user = await stack.api.createUser();
    ds = await registerComparisonDatasets(stack.api, user.apiKey, 2);
  });

  it('refuses bodies naming the field and index', async () => {
    const other = await stack.api.createUser();
    const a = await createEvaluation(stack.api, user.apiKey, [ds.sum, ds.trap]);
    const b = await createEvaluation(stack.api, user.apiKey, [ds.sum]);
    const foreign = await createEvaluation(stack.api, other.apiKey, [ARITH_BASIC_ID]);
    const post = (body: unknown) => stack.api.request('POST', '/v1/comparisons', { key: user.apiKey, body });
    const fields = (res: { body: { errors?: { field: string }[] } }) => res.body.errors?.map((e) => e.field);

    let res = await post({ name: 'x', evaluationIds: [a, b], datasets: [ds.sum, ds.trap] });
    expect(res.status).toBe(422);
    expect(fields(res)).toEqual(['datasets[1]']);
    expect(res.body.errors[0].message).toContain('evaluationIds[1]');

    res = await post({ name: 'x', evaluationIds: [a, foreign, randomUUID(), 'nope'], datasets: [ds.sum] });
    expect(res.status).toBe(422);
    expect(fields(res)).toEqual(['evaluationIds[1]', 'evaluationIds[2]', 'evaluationIds[3]']);

    res = await post({ name: 'x', evaluationIds: [a, a], datasets: [ds.sum] });
    expect(res.status).toBe(422);
    expect(fields(res)).toEqual(['evaluationIds[1]']);

    res = await post({ name: 'x', evaluationIds: [a], datasets: [ds.sum] });
    expect(res.status).toBe(400);
    expect(fields(res)).toContain('evaluationIds');

    for (const [weights, field] of [
      [{ datasets: { 'no-such-set': 1 } }, 'weights.datasets.no-such-set'],
      [{ metrics: { bleu: 1 } }, 'weights.metrics.bleu'],
      [{ datasets: { [ds.sum]: 0 } }, 'weights'],
      [{ datasets: { [ds.sum]: -1 } }, 'weights.datasets.'],
    ] as const) {
      res = await post({ name: 'x', evaluationIds: [a, b], datasets: [ds.sum], weights });
      expect(res.status, JSON.stringify(weights)).toBe(400);
      expect(
        fields(res)!.some((f) => f.startsWith(field)),
        `${res.text} names ${field}`,
      ).toBe(true);
    }
    expect(await runsOf([a, b])).toHaveLength(0);
    expect(await formalUsed(user.id)).toBe(0);
  });

  it('takes one formal slot per model, all or nothing', async () => {
    const owner = await stack.api.createUser();
    const sets = await registerComparisonDatasets(stack.api, owner.apiKey, 2);
    const slow = stack.models.slow;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await createEvaluation(stack.api, owner.apiKey, [sets.sum], slow.url));
    await setUsed(owner.id, 3);
    const refused = await stack.api.request('POST', '/v1/comparisons', {
      key: owner.apiKey,
      body: { name: 'too many', evaluationIds: ids, datasets: [sets.sum] },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.detail).toMatch(
      /takes 3 formal quota slots; the launch of evaluationIds\[2\] was refused, so no model of the comparison was launched/,
    );
    expect(await runsOf(ids)).toHaveLength(0);
    expect(await formalUsed(owner.id)).toBe(3);
    expect(await stack.db.select().from(comparisons).where(eq(comparisons.ownerId, owner.id))).toHaveLength(0);

    const fits = await stack.api.request('POST', '/v1/comparisons', {
      key: owner.apiKey,
      body: { name: 'fits', evaluationIds: ids.slice(0, 2), datasets: [sets.sum] },
    });
    expect(fits.status, fits.text).toBe(201);
    expect(await formalUsed(owner.id)).toBe(5);
    const stop = await stack.api.request('POST', `/v1/comparisons/${fits.body.comparisonId}/stop`, {
      key: owner.apiKey,
    });
    expect(stop.status, stop.text).toBe(202);
    expect(stop.body.stopRequestedAt).not.toBeNull();
    const ended = await waitForEnd(owner.apiKey, fits.body.comparisonId);
    expect(ended.at(-1)!.status).toBe('stopped');
    expect(ended.at(-1)!.models.map((m) => m.status)).toEqual(['stopped', 'stopped']);
    // What was stored, if anything, says why (a race the full suite's load can bring out).
    const stored = await stack.db
      .select({ runId: sampleResults.runId, status: sampleResults.status, error: sampleResults.error })
      .from(sampleResults)
      .where(
        inArray(
          sampleResults.runId,
          ended.at(-1)!.models.map((m) => m.runId),
        ),
      );
    const runIds = ended.at(-1)!.models.map((m) => m.runId);
    const timeline =
      stored.length === 0
        ? ''
        : await historyTimeline(
            stack.temporal,
            runIds.flatMap((id) => [workflowIds.run(id), workflowIds.dataset(id, sets.sum)]),
          );
    expect(ended.at(-1)!.progress.done, `${JSON.stringify(stored)}\n${timeline}`).toBe(0);
    // Stopping again is harmless.
    expect(
      (await stack.api.request('POST', `/v1/comparisons/${fits.body.comparisonId}/stop`, { key: owner.apiKey })).status,
    ).toBe(202);
  });

  it('lets exactly one of two concurrent comparisons take the slots there are', async () => {
    const owner = await stack.api.createUser();
    const sets = await registerComparisonDatasets(stack.api, owner.apiKey, 2);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await createEvaluation(stack.api, owner.apiKey, [sets.sum]));
    await setUsed(owner.id, 3);
    // Crossed orders: each comparison locks its evaluations in one order, so neither deadlocks.
    const [first, second] = await Promise.all([
      stack.api.request('POST', '/v1/comparisons', {
        key: owner.apiKey,
        body: { name: 'one', evaluationIds: [ids[0], ids[1]], datasets: [sets.sum] },
      }),
      stack.api.request('POST', '/v1/comparisons', {
        key: owner.apiKey,
        body: { name: 'two', evaluationIds: [ids[3], ids[2]], datasets: [sets.sum] },
      }),
    ]);
    expect([first.status, second.status].sort()).toEqual([201, 429]);
    expect(await formalUsed(owner.id)).toBe(5);
    const made = await runsOf(ids);
    expect(made).toHaveLength(2);
    const winner = first.status === 201 ? first.body : second.body;
    expect(made.map((r) => r.id).sort()).toEqual(winner.models.map((m: { runId: string }) => m.runId).sort());
  });

  it('answers a retry with the same Idempotency-Key with the first comparison', async () => {
    const owner = await stack.api.createUser();
    const sets = await registerComparisonDatasets(stack.api, owner.apiKey, 2);
    const ids = [
      await createEvaluation(stack.api, owner.apiKey, [sets.sum]),
      await createEvaluation(stack.api, owner.apiKey, [sets.sum]),
    ];
    const body = { name: 'retried', evaluationIds: ids, datasets: [sets.sum] };
    const key = `cmp-${randomUUID()}`;
    const [one, two] = await Promise.all(
      [0, 1].map(() =>
        stack.api.request('POST', '/v1/comparisons', { key: owner.apiKey, body, headers: { 'idempotency-key': key } }),
      ),
    );
    expect([one!.status, two!.status]).toEqual([201, 201]);
    expect(one!.body.comparisonId).toBe(two!.body.comparisonId);
    expect([one!.headers.get('idempotent-replayed'), two!.headers.get('idempotent-replayed')].sort()).toEqual(
      ['true', null].sort(),
    );
    expect(await runsOf(ids)).toHaveLength(2);
    expect(await formalUsed(owner.id)).toBe(2);
    const other = await stack.api.request('POST', '/v1/comparisons', {
      key: owner.apiKey,
      body: { ...body, name: 'another' },
      headers: { 'idempotency-key': key },
    });
    expect(other.status).toBe(422);
    expect(other.body.errors[0].field).toBe('Idempotency-Key');
  });

  it('answers a replay that cannot reach Temporal with 503 and a retry hint, and leaves the runs to the first request', async () => {
    const owner = await stack.api.createUser();
    const sets = await registerComparisonDatasets(stack.api, owner.apiKey, 2);
    const ids = [
      await createEvaluation(stack.api, owner.apiKey, [sets.sum]),
      await createEvaluation(stack.api, owner.apiKey, [sets.sum]),
    ];
    const body = { name: 'replayed while down', evaluationIds: ids, datasets: [sets.sum] };
    const headers = { 'idempotency-key': `cmp-${randomUUID()}` };
    // The first request's two starts wait; the replay's two fail.
    const starts = interceptWorkflowStarts(stack.temporal, { held: 2, failing: [2, 3] });
    try {
      const first = stack.api.request('POST', '/v1/comparisons', { key: owner.apiKey, body, headers });
      await expect.poll(starts.calls, { timeout: 10_000 }).toBe(2);
      const replay = await stack.api.request('POST', '/v1/comparisons', { key: owner.apiKey, body, headers });
      expect(replay.status, replay.text).toBe(503);
      expect(replay.body.detail).toMatch(
        /^comparison \S+ was created by the first request with this Idempotency-Key, .*retry with the same key shortly\.$/,
      );
      starts.release();
      const answer = await first;
      expect(answer.status, answer.text).toBe(201);
    } finally {
      starts.restore();
    }
    const made = await runsOf(ids);
    expect(made).toHaveLength(2);
    expect(made.filter((r) => r.status === 'failed')).toEqual([]);
    expect(await formalUsed(owner.id)).toBe(2);
  });
});
