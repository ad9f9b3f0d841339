/**
 * GET /v1/runs across one's evaluations with filters and pages (admins: everyone's), GET
 * /v1/runs/{id}/config (the configuration frozen at launch, keys reduced to whether they are set),
 * and each dataset's ETA in the run view, through HTTP against stored runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { runDatasets, runs } from '../../db/schema';
import type { RunConfig, RunSummary, RunView } from '../../contracts/run';
import { insertArithmeticDataset, insertRun, type FixtureDataset } from '../support/runFixtures';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ api: true });

let alice: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };
let dataset: FixtureDataset;
/** Alice's runs, oldest first: formal succeeded, formal failed, verification succeeded; Bob's: one formal. */
let aliceRuns: string[];
let bobRun: string;

async function runOf(ownerId: string, type: 'formal' | 'verification', status: 'succeeded' | 'failed' | 'queued') {
  const runId = await insertRun(stack.db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset], type });
  await stack.db.update(runs).set({ status }).where(eq(runs.id, runId));
  // Distinct creation times, so "newest first" is one order.
  await new Promise((r) => setTimeout(r, 5));
  return runId;
}

beforeAll(async () => {
  [alice, bob] = await Promise.all([stack.api.createUser(), stack.api.createUser()]);
  dataset = await insertArithmeticDataset(stack.db, 40);
  aliceRuns = [
    await runOf(alice.id, 'formal', 'succeeded'),
    await runOf(alice.id, 'formal', 'failed'),
    await runOf(alice.id, 'verification', 'succeeded'),
  ];
  bobRun = await runOf(bob.id, 'formal', 'succeeded');
});

async function list(key: string, query = '') {
  const res = await stack.api.request('GET', `/v1/runs${query}`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body as { items: RunSummary[]; nextCursor: string | null };
}

const ids = (page: { items: RunSummary[] }) => page.items.map((r) => r.runId);

describe('GET /v1/runs', () => {
  it('lists the caller’s runs newest first, each with its evaluation’s model and domain', async () => {
    const page = await list(alice.apiKey);
    expect(ids(page)).toEqual([...aliceRuns].reverse());
    expect(page.items[0]).toMatchObject({ type: 'verification', status: 'succeeded', domain: 'nlp', version: 1 });
    expect(page.items[0]!.modelName).toMatch(/^m-/);
    expect(page.nextCursor).toBeNull();
    expect(ids(await list(bob.apiKey))).toEqual([bobRun]);
  });

  it('filters by status, type, domain, model and evaluation, combined', async () => {
    expect(ids(await list(alice.apiKey, '?status=failed'))).toEqual([aliceRuns[1]]);
    expect(ids(await list(alice.apiKey, '?type=verification'))).toEqual([aliceRuns[2]]);
    expect(ids(await list(alice.apiKey, '?type=formal&status=succeeded'))).toEqual([aliceRuns[0]]);
    expect(ids(await list(alice.apiKey, '?domain=safety'))).toEqual([]);
    const [first] = (await list(alice.apiKey, '?status=failed')).items;
    // Part of the model name, in any case.
    expect(ids(await list(alice.apiKey, `?model=${first!.modelName.slice(2, 10).toUpperCase()}`))).toEqual([
      aliceRuns[1],
    ]);
    expect(ids(await list(alice.apiKey, `?evaluationId=${first!.evaluationId}`))).toEqual([aliceRuns[1]]);
    // A wildcard in the filter is a character, not a pattern.
    expect(ids(await list(alice.apiKey, '?model=%25'))).toEqual([]);
  });

  it('pages with a cursor, each run once', async () => {
    const first = await list(alice.apiKey, '?limit=2');
    expect(ids(first)).toEqual([aliceRuns[2], aliceRuns[1]]);
    expect(first.nextCursor).not.toBeNull();
    const second = await list(alice.apiKey, `?limit=2&cursor=${first.nextCursor}`);
    expect(ids(second)).toEqual([aliceRuns[0]]);
    expect(second.nextCursor).toBeNull();
  });

  it('shows an admin everyone’s runs', async () => {
    const bobs = (await list(bob.apiKey)).items[0]!;
    const asAdmin = await list(stack.api.adminKey, `?model=${bobs.modelName}`);
    expect(ids(asAdmin)).toEqual([bobRun]);
  });

  it('refuses bad filters naming the parameter', async () => {
    for (const [query, field] of [
      ['?status=done', 'status'],
      ['?type=final', 'type'],
      ['?domain=vision', 'domain'],
      ['?evaluationId=nope', 'evaluationId'],
      ['?limit=0', 'limit'],
      ['?cursor=garbage', 'cursor'],
      ['?colour=red', 'colour'],
    ]) {
      const res = await stack.api.request('GET', `/v1/runs${query}`, { key: alice.apiKey });
      expect(res.status, query).toBe(400);
      expect(
        (res.body.errors as { field: string }[]).map((e) => e.field),
        query,
      ).toEqual([field]);
    }
  });
});

describe('GET /v1/runs/{id}/config', () => {
  it('shows the frozen configuration, a judge’s key only as whether it is set, to the owner and admins', async () => {
    const runId = aliceRuns[0]!;
    const [stored] = await stack.db.select().from(runs).where(eq(runs.id, runId));
    const keyId = randomUUID();
    const config: RunConfig = {
      ...stored!.config,
      scoring: {
        limits: { maxJudgingConcurrency: 8, maxJudgingRetryPerQ: 2 },
        datasets: {
          [dataset.id]: { metric: 'judge', judge: { baseUrl: 'http://judge/v1', model: 'j', apiKeyId: keyId } },
        },
      },
    };
    await stack.db.update(runs).set({ config }).where(eq(runs.id, runId));

    const res = await stack.api.request('GET', `/v1/runs/${runId}/config`, { key: alice.apiKey });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ runId, version: 1, type: 'formal', apiKeySet: false });
    expect(res.body.config.datasets).toEqual(stored!.config.datasets);
    expect(res.body.config.limits).toEqual(stored!.config.limits);
    expect(res.body.config.scoring.datasets[dataset.id].judge).toEqual({
      baseUrl: 'http://judge/v1',
      model: 'j',
      apiKeySet: true,
    });
    expect(res.text).not.toContain(keyId);
    expect((await stack.api.request('GET', `/v1/runs/${runId}/config`, { key: stack.api.adminKey })).status).toBe(200);
    expect((await stack.api.request('GET', `/v1/runs/${runId}/config`, { key: bob.apiKey })).status).toBe(404);
  });
});

describe('the run view', () => {
  it('gives a running dataset its ETA at its own rate, and none to one that is not running', async () => {
    const runId = await runOf(alice.id, 'formal', 'queued');
    await stack.db
      .update(runs)
      .set({ status: 'running', startedAt: new Date(Date.now() - 200_000) })
      .where(eq(runs.id, runId));
    await stack.db
      .update(runDatasets)
      .set({ status: 'running', startedAt: new Date(Date.now() - 100_000), done: 20 })
      .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, dataset.id)));
    const view = (await stack.api.request('GET', `/v1/runs/${runId}`, { key: alice.apiKey })).body as RunView;
    // 20 of 40 in 100 s: 20 more take about 100 s.
    expect(view.datasets[0]!.etaSeconds).toBeGreaterThanOrEqual(100);
    expect(view.datasets[0]!.etaSeconds).toBeLessThanOrEqual(110);
    const finished = (await stack.api.request('GET', `/v1/runs/${aliceRuns[0]}`, { key: alice.apiKey }))
      .body as RunView;
    expect(finished.datasets[0]!.etaSeconds).toBeNull();
  });
});
