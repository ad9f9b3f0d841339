/**
 * The monthly formal quota through HTTP: fifty launches racing for the last slot, the sixth launch
 * of a month, and the conditional upsert itself. No workers run here: launched workflows wait on
 * their queue and are terminated when the file ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { quotaUsage, runs } from '../../db/schema';
import { consumeQuota, quotaResetDate, quotaUse, releaseQuota, utcMonth } from '../../db/queries/quota';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import { startApi, type TestApi } from '../support/apiServer';
import { nlpEvaluationBody } from '../support/evaluationBodies';

let api: TestApi;
const launchedWorkflows: string[] = [];

const QUOTA_MESSAGE =
  /^formal evaluation quota used: 5 of 5 this month \((\d{4}-\d{2}), UTC\); it resets on (\d{4}-\d{2}-01)$/;

beforeAll(async () => {
  api = await startApi();
  expect(api.deps.env.quota.formalPerMonth).toBe(5);
});

afterAll(async () => {
  for (const id of launchedWorkflows) {
    await api.deps.temporal.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => {});
  }
  await api?.close();
});

async function createEvaluation(key: string) {
  const res = await api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({ datasets: [ARITH_MC_ID] }),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function launchFormal(key: string, evaluationId: string) {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
  if (res.status === 202) launchedWorkflows.push(res.body.workflowId);
  return res;
}

async function formalUsed(userId: string, month = utcMonth(new Date())) {
  const [row] = await api.deps.db
    .select({ used: quotaUsage.used })
    .from(quotaUsage)
    .where(and(eq(quotaUsage.userId, userId), eq(quotaUsage.month, month), eq(quotaUsage.kind, 'formal')));
  return row?.used;
}

describe('formal quota', () => {
  it('lets exactly one of 50 concurrent launches take the last slot', async () => {
    const user = await api.createUser();
    // Launches of one evaluation also queue on its row lock; spread over five evaluations, only
    // the quota itself stands between them.
    const evaluationIds = await Promise.all(Array.from({ length: 5 }, () => createEvaluation(user.apiKey)));
    const month = utcMonth(new Date());
    await api.deps.db.insert(quotaUsage).values({ userId: user.id, month, kind: 'formal', used: 4 });

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => launchFormal(user.apiKey, evaluationIds[i % 5]!)),
    );

    const accepted = responses.filter((r) => r.status === 202);
    const refused = responses.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) {
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const match = QUOTA_MESSAGE.exec(r.body.detail);
      expect(match, r.body.detail).not.toBeNull();
      expect(match![1]).toBe(month);
      expect(match![2]).toBe(quotaResetDate(month));
    }
    expect(await formalUsed(user.id)).toBe(5);
    const rows = await api.deps.db.select().from(runs).where(inArray(runs.evaluationId, evaluationIds));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: accepted[0]!.body.runId, version: 1, type: 'formal', status: 'queued' });
  });

  it('accepts five launches in a month and refuses the sixth', async () => {
    const user = await api.createUser();
    const evaluationId = await createEvaluation(user.apiKey);
    for (let i = 1; i <= 5; i++) {
      const res = await launchFormal(user.apiKey, evaluationId);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body.version).toBe(i);
    }
    const sixth = await launchFormal(user.apiKey, evaluationId);
    expect(sixth.status).toBe(429);
    expect(sixth.body).toMatchObject({ status: 429, detail: expect.stringMatching(QUOTA_MESSAGE) });
    expect(await formalUsed(user.id)).toBe(5);
    expect(await quotaUse(api.deps.db, user.id, utcMonth(new Date()), api.deps.env.quota)).toEqual({
      month: utcMonth(new Date()),
      formal: { used: 5, limit: 5 },
      manual: { used: 0, limit: 2 },
    });

    // Verifications are not counted, so they still go through.
    const verification = await api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key: user.apiKey,
      body: { samplesPerDataset: 1 },
    });
    expect(verification.status).toBe(202);
    launchedWorkflows.push(verification.body.workflowId);
    expect(verification.body.version).toBe(6);
  });

  it('counts each UTC calendar month on its own', async () => {
    const user = await api.createUser();
    const evaluationId = await createEvaluation(user.apiKey);
    const month = utcMonth(new Date());
    // A full previous month does not block this one.
    await api.deps.db.insert(quotaUsage).values({ userId: user.id, month: '2000-01', kind: 'formal', used: 5 });
    const res = await launchFormal(user.apiKey, evaluationId);
    expect(res.status).toBe(202);
    expect(await formalUsed(user.id, month)).toBe(1);
    expect(await formalUsed(user.id, '2000-01')).toBe(5);
  });
});

describe('quota queries', () => {
  it('names UTC months and their reset days', () => {
    expect(utcMonth(new Date('2026-11-30T23:59:59.999Z'))).toBe('2026-11');
    expect(utcMonth(new Date('2026-12-01T00:00:00.000Z'))).toBe('2026-12');
    expect(quotaResetDate('2026-11')).toBe('2026-12-01');
    expect(quotaResetDate('2026-12')).toBe('2027-01-01');
  });

  it('takes slots up to the limit, never creates a row past a limit of 0, and gives slots back down to 0', async () => {
    const user = await api.createUser();
    const db = api.deps.db;
    expect(await consumeQuota(db, user.id, 'manual', '2030-01', 0)).toBe(false);
    expect(await formalUsed(user.id, '2030-01')).toBeUndefined();
    expect(await consumeQuota(db, user.id, 'manual', '2030-02', 2)).toBe(true);
    expect(await consumeQuota(db, user.id, 'manual', '2030-02', 2)).toBe(true);
    expect(await consumeQuota(db, user.id, 'manual', '2030-02', 2)).toBe(false);
    expect((await quotaUse(db, user.id, '2030-02', { formalPerMonth: 5, manualPerMonth: 2 })).manual).toEqual({
      used: 2,
      limit: 2,
    });
    await releaseQuota(db, user.id, 'manual', '2030-02');
    await releaseQuota(db, user.id, 'manual', '2030-02');
    await releaseQuota(db, user.id, 'manual', '2030-02');
    expect((await quotaUse(db, user.id, '2030-02', { formalPerMonth: 5, manualPerMonth: 2 })).manual.used).toBe(0);
  });
});
