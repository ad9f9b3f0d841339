/**
 * Launching manual evaluations, at the record level through HTTP (no workers: the runs are fixtures
 * waiting for their launch): the monthly manual quota holds under concurrent launches, one run is
 * launched once however many ask at once, refusals say why, and the new routes admit only whom
 * they should.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { manualReviews } from '../../db/schema';
import { utcMonth } from '../../db/queries/quota';
import { startApi, type TestApi } from '../support/apiServer';
import { insertArithmeticDataset, insertRun, type FixtureDataset } from '../support/runFixtures';

let api: TestApi;
let dataset: FixtureDataset;

beforeAll(async () => {
  api = await startApi();
  dataset = await insertArithmeticDataset(api.deps.db, 3, 'sums');
});

afterAll(async () => {
  await api?.close();
});

/** A formal run of `ownerId` whose review waits for its launch. */
async function awaitingRun(
  ownerId: string,
  status: 'pending' | 'awaiting-launch' = 'awaiting-launch',
): Promise<string> {
  const runId = await insertRun(api.deps.db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  await api.deps.db.insert(manualReviews).values({
    runId,
    ownerId,
    status,
    datasetIds: [dataset.id],
    launchDeadline: status === 'awaiting-launch' ? new Date(Date.now() + 86_400_000) : null,
  });
  return runId;
}

async function useManualQuota(userId: string, used: number): Promise<void> {
  await api.deps.db.execute(sql`
    insert into quota_usage (user_id, month, kind, used) values (${userId}::uuid, ${utcMonth(new Date())}, 'manual', ${used})
    on conflict (user_id, month, kind) do update set used = excluded.used`);
}

const launch = (key: string, runId: string, headers: Record<string, string> = {}) =>
  api.request('POST', `/v1/runs/${runId}/manual-evaluation`, { key, headers });

describe('POST /v1/runs/{runId}/manual-evaluation', () => {
  it('lets exactly one of ten concurrent launches take the last slot of the month', async () => {
    const owner = await api.createUser('user');
    await useManualQuota(owner.id, 1);
    const runIds = await Promise.all(Array.from({ length: 10 }, () => awaitingRun(owner.id)));
    const answers = await Promise.all(runIds.map((runId) => launch(owner.apiKey, runId)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(9).fill(429)]);
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body.detail).toMatch(
        /^manual evaluation quota used: 2 of 2 this month \(\d{4}-\d{2}, UTC\); it resets on \d{4}-\d{2}-01$/,
      );
    }
    const statuses = await api.deps.db.execute<{ status: string; n: number }>(sql`
      select status, count(*)::int as n from manual_reviews where run_id = any(${sql.param(runIds)}::uuid[]) group by status order by status`);
    expect([...statuses]).toEqual([
      { status: 'awaiting-launch', n: 9 },
      { status: 'in-review', n: 1 },
    ]);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual).toEqual({
      used: 2,
      limit: 2,
    });
  });

  it('launches one run once when ten ask at once, taking one slot', async () => {
    const owner = await api.createUser('user');
    const runId = await awaitingRun(owner.id);
    const answers = await Promise.all(Array.from({ length: 10 }, () => launch(owner.apiKey, runId)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(9).fill(409)]);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual.used).toBe(1);
  });

  it('answers a retried launch from its Idempotency-Key, and refuses the key for another run', async () => {
    const owner = await api.createUser('user');
    const [first, second] = [await awaitingRun(owner.id), await awaitingRun(owner.id)];
    const key = `k-${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => launch(owner.apiKey, first, { 'idempotency-key': key })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(202));
    expect(new Set(answers.map((a) => a.body.reviewId)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual.used).toBe(1);
    const reused = await launch(owner.apiKey, second, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.body.errors).toEqual([
      { field: 'Idempotency-Key', message: 'was already used for a different request' },
    ]);
  });

  it('refuses runs whose inference is not finished, runs without a review, and runs of others', async () => {
    const owner = await api.createUser('user');
    const stranger = await api.createUser('user');
    const inferring = await launch(owner.apiKey, await awaitingRun(owner.id, 'pending'));
    expect(inferring.status).toBe(409);
    expect(inferring.body.detail).toMatch(/still being inferred/);
    expect(inferring.body.errors).toEqual([{ field: 'status', message: 'is pending' }]);

    const plain = await insertRun(api.deps.db, {
      ownerId: owner.id,
      endpoint: 'http://127.0.0.1:9/v1',
      datasets: [dataset],
    });
    const noReview = await launch(owner.apiKey, plain);
    expect(noReview.status).toBe(422);
    expect(noReview.body.errors[0].field).toBe('runId');
    expect((await api.request('GET', `/v1/runs/${plain}/manual-evaluation`, { key: owner.apiKey })).status).toBe(404);
    const verification = await insertRun(api.deps.db, {
      ownerId: owner.id,
      endpoint: 'http://127.0.0.1:9/v1',
      datasets: [dataset],
      type: 'verification',
      sampleIndices: [0],
    });
    expect((await launch(owner.apiKey, verification)).body.detail).toMatch(/it is a verification/);

    const theirs = await awaitingRun(owner.id);
    expect((await launch(stranger.apiKey, theirs)).status).toBe(404);
    expect((await api.request('GET', `/v1/runs/${theirs}/manual-evaluation`, { key: stranger.apiKey })).status).toBe(
      404,
    );
    expect((await launch(owner.apiKey, randomUUID())).status).toBe(404);
    expect((await api.request('GET', '/v1/me', { key: stranger.apiKey })).body.quota.manual.used).toBe(0);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual.used).toBe(0);
  });

  it('refuses the launch of a review an admin gave up while its run was still inferring', async () => {
    const owner = await api.createUser('user');
    const runId = await awaitingRun(owner.id, 'pending');
    const [review] = await api.deps.db
      .select()
      .from(manualReviews)
      .where(sql`${manualReviews.runId} = ${runId}`);
    const abandoned = await api.request('POST', `/v1/reviews/${review!.id}/abandon`, { key: api.adminKey });
    expect(abandoned.status, abandoned.text).toBe(200);
    expect(abandoned.body).toMatchObject({ status: 'abandoned', note: expect.stringMatching(/^given up by /) });
    const refused = await launch(owner.apiKey, runId);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/it was abandoned by an admin \(given up by /);
    expect((await api.request('GET', '/v1/me', { key: owner.apiKey })).body.quota.manual.used).toBe(0);
  });
});

describe('who may reach the manual-evaluation routes', () => {
  it('admits owners and admins to a run’s manual evaluation, reviewers and admins to reviews, and admins alone to abandonment', async () => {
    const owner = await api.createUser('user');
    const other = await api.createUser('user');
    const reviewer = await api.createUser('reviewer');
    const runId = await awaitingRun(owner.id);
    const [review] = await api.deps.db
      .select()
      .from(manualReviews)
      .where(sql`${manualReviews.runId} = ${runId}`);
    const reviewId = review!.id;

    const cases: [string, string, string | undefined, unknown, number][] = [
      ['GET', `/v1/runs/${runId}/manual-evaluation`, undefined, undefined, 401],
      ['GET', `/v1/runs/${runId}/manual-evaluation`, owner.apiKey, undefined, 200],
      ['GET', `/v1/runs/${runId}/manual-evaluation`, api.adminKey, undefined, 200],
      ['GET', `/v1/runs/${runId}/manual-evaluation`, other.apiKey, undefined, 404],
      ['GET', `/v1/runs/${runId}/manual-evaluation`, reviewer.apiKey, undefined, 403],
      ['POST', `/v1/runs/${runId}/manual-evaluation`, reviewer.apiKey, undefined, 403],
      ['POST', `/v1/runs/${runId}/manual-evaluation`, other.apiKey, undefined, 404],
      ['GET', '/v1/reviews', undefined, undefined, 401],
      ['GET', '/v1/reviews', owner.apiKey, undefined, 403],
      ['GET', '/v1/reviews', reviewer.apiKey, undefined, 200],
      ['GET', '/v1/reviews', api.adminKey, undefined, 200],
      ['GET', `/v1/reviews/${reviewId}`, owner.apiKey, undefined, 403],
      ['GET', `/v1/reviews/${reviewId}`, reviewer.apiKey, undefined, 200],
      ['GET', `/v1/reviews/${randomUUID()}`, reviewer.apiKey, undefined, 404],
      ['GET', '/v1/reviews/not-a-review', reviewer.apiKey, undefined, 404],
      [
        'POST',
        `/v1/reviews/${reviewId}/scores`,
        owner.apiKey,
        { scores: [{ dataset: dataset.id, itemId: 'x', score: 1 }] },
        403,
      ],
      // Not launched yet: nothing to score or complete.
      [
        'POST',
        `/v1/reviews/${reviewId}/scores`,
        reviewer.apiKey,
        { scores: [{ dataset: dataset.id, itemId: 'x', score: 1 }] },
        409,
      ],
      ['POST', `/v1/reviews/${reviewId}/complete`, reviewer.apiKey, undefined, 409],
      ['POST', `/v1/reviews/${reviewId}/complete`, owner.apiKey, undefined, 403],
      ['POST', `/v1/reviews/${reviewId}/abandon`, owner.apiKey, {}, 403],
      ['POST', `/v1/reviews/${reviewId}/abandon`, reviewer.apiKey, {}, 403],
      ['POST', `/v1/reviews/${reviewId}/abandon`, api.adminKey, { reason: 'access matrix' }, 200],
    ];
    for (const [method, path, key, body, status] of cases) {
      const res = await api.request(method, path, { ...(key ? { key } : {}), ...(body !== undefined ? { body } : {}) });
      expect(
        res.status,
        `${method} ${path} as ${key === owner.apiKey ? 'owner' : key === other.apiKey ? 'another user' : key === reviewer.apiKey ? 'reviewer' : key ? 'admin' : 'nobody'}: ${res.text}`,
      ).toBe(status);
      if (status >= 400) expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const listed = await api.request('GET', '/v1/reviews?status=abandoned&limit=500', { key: reviewer.apiKey });
    expect(listed.body.items.map((r: { reviewId: string }) => r.reviewId)).toContain(reviewId);
    expect((await api.request('GET', '/v1/reviews?status=finished', { key: reviewer.apiKey })).status).toBe(400);
  });
});
