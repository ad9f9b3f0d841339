/**
 * A formal run waits for its API endpoint before its first dataset, through HTTP with real run and
 * inference workers: an endpoint that never answers ends the run failed with the reason and gives
 * the quota slot back (once), and the owner's run-ended mail says why; an endpoint that comes up
 * within the wait is evaluated as usual; a run that was ready and failed later keeps its slot; and
 * the wait field refuses what it does not allow, naming field and rule.
 */
import { describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { notifications, runLogs } from '../../db/schema';
import { getRun } from '../../db/queries/runRecords';
import { QUOTA_REFUND_LOG_KEY, refundRunQuota } from '../../db/queries/quota';
import type { RunView } from '../../contracts/run';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { startReferenceModel, type ReferenceModel } from '../../stack/referenceModel/server';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { formalUsed, setFormalUsed } from '../support/quotaFixtures';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { waitForRunEnd } from '../support/runThroughApi';
import { freePort } from '../support/ports';
import { until } from '../support/until';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({
  api: true,
  workers: ['runs', 'inference'],
  models: { failing: { errorRate: 1, errorStatus: 500 } },
});

async function evaluation(key: string, endpoint: string, limits: Record<string, unknown>): Promise<string> {
  const body = nlpEvaluationBody({
    datasets: [ARITH_BASIC_ID],
    deployment: { method: 'api', endpoint, onlineModelName: 'proctor-reference', apiMode: 'chat' },
    limits,
  });
  const res = await stack.api.request('POST', '/v1/evaluations', { key, body });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function launchFormal(key: string, evaluationId: string): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

async function quotaUsed(key: string): Promise<number> {
  const res = await stack.api.request('GET', '/v1/me', { key });
  expect(res.status, res.text).toBe(200);
  return res.body.quota.formal.used as number;
}

async function logMessages(key: string, runId: string): Promise<string[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/logs`, { key });
  expect(res.status, res.text).toBe(200);
  return (res.body.items as { message: string }[]).map((l) => l.message);
}

const recorded: Record<string, string> = {};

describe('a formal run whose endpoint never becomes ready', () => {
  it('fails with the reason before inferring anything, gives its quota slot back and mails the owner why', async () => {
    const user = await stack.api.createUser();
    const id = await evaluation(user.apiKey, `http://127.0.0.1:${await freePort()}/v1`, { readyTimeoutSeconds: 2 });
    expect(await quotaUsed(user.apiKey)).toBe(0);

    const runId = await launchFormal(user.apiKey, id);
    expect(await quotaUsed(user.apiKey)).toBe(1);
    const ended = await waitForRunEnd(stack.api, user.apiKey, runId, 60_000);
    recorded['run-endpoint-not-ready'] = runId;

    expect(ended.status).toBe('failed');
    expect(ended.error).toMatch(
      /^endpoint not ready after 2 s: the endpoint could not be reached: connection refused.*; the formal quota slot was given back$/,
    );
    expect(ended.progress.done).toBe(0);
    expect(ended.quotaRefunded).toBe(true);
    expect(ended.datasets.map((d) => [d.status, d.error?.startsWith('endpoint not ready after 2 s: ')])).toEqual([
      ['failed', true],
    ]);
    expect(await quotaUsed(user.apiKey)).toBe(0);

    const messages = await logMessages(user.apiKey, runId);
    expect(messages).toContainEqual(
      expect.stringMatching(/^endpoint not ready yet \(.*connection refused.*\); waiting up to 2 s/),
    );
    expect(messages).toContain('the run failed before its model was ready, so its formal quota slot was given back');

    await until('the run-ended mail with the reason', async () => {
      const mails = await stack.db.select().from(notifications).where(eq(notifications.recipientId, user.id));
      return mails.some((m) => m.textBody.includes('endpoint not ready after 2 s'));
    });
  });

  it('gives the slot back once, however often the refund is asked for', async () => {
    const user = await stack.api.createUser();
    const id = await evaluation(user.apiKey, `http://127.0.0.1:${await freePort()}/v1`, { readyTimeoutSeconds: 1 });
    const runId = await launchFormal(user.apiKey, id);
    expect((await waitForRunEnd(stack.api, user.apiKey, runId, 60_000)).status).toBe('failed');
    expect(await quotaUsed(user.apiKey)).toBe(0);

    // As if the finishing step were retried after other launches took slots: nothing more is given back.
    await setFormalUsed(stack.db, user.id, 3);
    const run = await getRun(stack.db, runId);
    expect(await refundRunQuota(stack.db, run, 'again')).toBe(true);
    expect(await refundRunQuota(stack.db, run, 'and again')).toBe(true);
    expect(await formalUsed(stack.db, user.id)).toBe(3);
    const lines = await stack.db
      .select()
      .from(runLogs)
      .where(and(eq(runLogs.runId, runId), eq(runLogs.dedupeKey, QUOTA_REFUND_LOG_KEY)));
    expect(lines).toHaveLength(1);
  });

  it('fails at once, without waiting out the limit, when the endpoint refuses the key', async () => {
    const locked = await startReferenceModel({ port: 0, knobs: { requiredApiKey: 'sk-right' } });
    try {
      const user = await stack.api.createUser();
      const id = await evaluation(user.apiKey, locked.url, { readyTimeoutSeconds: 600 });
      const started = Date.now();
      const ended = await waitForRunEnd(stack.api, user.apiKey, await launchFormal(user.apiKey, id), 60_000);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(ended.status).toBe('failed');
      expect(ended.error).toMatch(/^endpoint not ready: listing its models failed: .*401.*not waited for/);
      expect(await quotaUsed(user.apiKey)).toBe(0);
    } finally {
      await locked.close();
    }
  });
});

describe('a formal run whose endpoint becomes ready within the wait', () => {
  it('waits for it, then evaluates as usual and keeps its slot', async () => {
    const port = await freePort();
    const user = await stack.api.createUser();
    const id = await evaluation(user.apiKey, `http://127.0.0.1:${port}/v1`, { readyTimeoutSeconds: 60 });
    const runId = await launchFormal(user.apiKey, id);

    await until('the run waiting for its endpoint', async () =>
      (await logMessages(user.apiKey, runId)).some((m) => m.startsWith('endpoint not ready yet')),
    );
    const waiting = (await stack.api.request('GET', `/v1/runs/${runId}`, { key: user.apiKey })).body as RunView;
    expect([waiting.status, waiting.progress.done]).toEqual(['running', 0]);

    let model: ReferenceModel | undefined;
    try {
      model = await startReferenceModel({ port, knobs: { skill: 1 } });
      const ended = await waitForRunEnd(stack.api, user.apiKey, runId, 120_000);
      recorded['run-endpoint-ready-after-wait'] = runId;
      expect(ended.status, ended.error ?? '').toBe('succeeded');
      expect(ended.progress.done).toBe(ended.progress.total);
      expect(ended.quotaRefunded).toBe(false);
      expect(await quotaUsed(user.apiKey)).toBe(1);
      expect(await logMessages(user.apiKey, runId)).toContainEqual(
        expect.stringMatching(/^endpoint ready after \d+\.\d s: proctor-reference is listed$/),
      );
    } finally {
      await model?.close();
    }
  });
});

describe('a formal run stopped while it waits for its endpoint', () => {
  it('ends stopped promptly, without a dataset run, and keeps its slot as any stopped run does', async () => {
    const user = await stack.api.createUser();
    const id = await evaluation(user.apiKey, `http://127.0.0.1:${await freePort()}/v1`, { readyTimeoutSeconds: 600 });
    const runId = await launchFormal(user.apiKey, id);
    await until('the run waiting for its endpoint', async () =>
      (await logMessages(user.apiKey, runId)).some((m) => m.startsWith('endpoint not ready yet')),
    );
    const stopped = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key: user.apiKey });
    expect(stopped.status, stopped.text).toBe(202);
    const started = Date.now();
    const ended = await waitForRunEnd(stack.api, user.apiKey, runId, 60_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(ended.status).toBe('stopped');
    expect(ended.progress.done).toBe(0);
    expect(ended.quotaRefunded).toBe(false);
    expect(await quotaUsed(user.apiKey)).toBe(1);
  });
});

describe('a formal run that was ready and failed later', () => {
  it('keeps its quota slot', async () => {
    const user = await stack.api.createUser();
    const id = await evaluation(user.apiKey, stack.models.failing.url, {
      readyTimeoutSeconds: 5,
      maxRetryPerQuery: 0,
      maxConcurrency: 1,
    });
    const ended = await waitForRunEnd(stack.api, user.apiKey, await launchFormal(user.apiKey, id), 120_000);
    expect(ended.status).toBe('failed');
    expect(ended.error).not.toMatch(/not ready|given back/);
    expect(ended.quotaRefunded).toBe(false);
    expect(await quotaUsed(user.apiKey)).toBe(1);
  });
});

describe('the wait field', () => {
  const invalid: [string, unknown, RegExp][] = [
    ['zero', 0, /1 to 86,400/],
    ['negative', -5, /1 to 86,400/],
    ['past a day', 86_401, /1 to 86,400/],
    ['fractional', 2.5, /integer/],
    ['a string', '30', /1 to 86,400/],
    ['null', null, /1 to 86,400/],
  ];

  it.each(invalid)('refuses %s with 400 naming limits.readyTimeoutSeconds and the rule', async (_name, value, rule) => {
    const user = await stack.api.createUser();
    const created = await stack.api.request('POST', '/v1/evaluations', {
      key: user.apiKey,
      body: nlpEvaluationBody({ limits: { readyTimeoutSeconds: value } }),
    });
    const id = await evaluation(user.apiKey, 'http://127.0.0.1:9/v1', {});
    const patched = await stack.api.request('PATCH', `/v1/evaluations/${id}`, {
      key: user.apiKey,
      body: { limits: { readyTimeoutSeconds: value } },
    });
    for (const res of [created, patched]) {
      expect(res.status, res.text).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const errors = res.body.errors as { field: string; message: string }[];
      expect(errors.map((e) => e.field)).toEqual(['limits.readyTimeoutSeconds']);
      expect(errors[0]!.message).toMatch(rule);
    }
  });

  it('is kept and shown with the evaluation when valid', async () => {
    const user = await stack.api.createUser();
    const id = await evaluation(user.apiKey, 'http://127.0.0.1:9/v1', { readyTimeoutSeconds: 86_400 });
    const res = await stack.api.request('GET', `/v1/evaluations/${id}`, { key: user.apiKey });
    expect(res.body.limits.readyTimeoutSeconds).toBe(86_400);
  });
});

// Defined only when recording (a skipped test would count as a failure in `npm test`); replayed by test/workflows/replay.test.ts.
if (RECORD_HISTORIES)
  it('records the not-ready and ready-after-wait runs as replay fixtures', async () => {
    for (const [name, runId] of Object.entries(recorded))
      await recordHistoryFixture(stack.temporal, name, workflowIds.run(runId), WORKFLOW_TYPES.run);
    expect(Object.keys(recorded).sort()).toEqual(['run-endpoint-not-ready', 'run-endpoint-ready-after-wait']);
  });
