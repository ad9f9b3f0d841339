/**
 * The records behind reuse, against the real database: the fingerprint covers exactly what changes
 * answers and scores, the decision is taken once, and a copy repeated changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { and, eq, sql } from 'drizzle-orm';
import { judgeSteps, runDatasetReuse, runDatasets, runs, sampleResults } from '../../db/schema';
import { copyReusedResult, decideReuse, reuseFingerprint } from '../../db/queries/reuse';
import { DEFAULT_INFERENCE, DEFAULT_LIMITS } from '../../contracts/evaluation';
import type { RunConfig } from '../../contracts/run';
import { insertArithmeticDataset, insertRun, insertUser, type FixtureDataset } from '../support/runFixtures';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: true });

const base: RunConfig = {
  domain: 'nlp',
  modelName: 'm',
  endpoint: 'http://127.0.0.1:9/v1',
  onlineModelName: 'model-a',
  apiMode: 'chat',
  inference: { ...DEFAULT_INFERENCE },
  limits: { ...DEFAULT_LIMITS },
  datasets: [{ datasetId: 'ds', task: 't', metric: 'exact_match', contentHash: 'sha256:1', sampleIndices: null }],
  sampleSeed: null,
};
const fp = (config: RunConfig, evaluationId = 'e1') => reuseFingerprint(evaluationId, config, config.datasets[0]!);

describe('reuse fingerprint', () => {
  it('is stable, ignores concurrency and the evaluation of an API model, and changes with every answer-changing input', () => {
    const reference = fp(base);
    expect(fp(JSON.parse(JSON.stringify({ ...base, inference: { topP: 1, temperature: 0, maxTokens: 512 } })))).toBe(
      reference,
    );
    expect(fp({ ...base, limits: { ...base.limits, maxConcurrency: 3 } })).toBe(reference);
    // The retry delay cap changes no answer; a run frozen before it existed matches one frozen with it.
    expect(fp({ ...base, limits: { ...base.limits, maxRetryDelayMs: 1000 } })).toBe(reference);
    const { maxRetryDelayMs: _cap, ...frozenBefore } = base.limits;
    expect(fp({ ...base, limits: frozenBefore })).toBe(reference);
    expect(fp({ ...base, modelName: 'another-name' }, 'e2')).toBe(reference);
    const changed: RunConfig[] = [
      { ...base, endpoint: 'http://127.0.0.1:10/v1' },
      { ...base, onlineModelName: 'model-b' },
      { ...base, apiMode: 'completion' },
      { ...base, inference: { ...base.inference, temperature: 0.5 } },
      { ...base, inference: { ...base.inference, systemPrompt: 'Be brief.' } },
      { ...base, inference: { ...base.inference, topK: 40 } },
      { ...base, inference: { ...base.inference, repetitionPenalty: 1.1 } },
      { ...base, inference: { ...base.inference, doSample: false } },
      { ...base, inference: { ...base.inference, stop: ['###'] } },
      { ...base, inference: { ...base.inference, seed: 1 } },
      { ...base, inference: { ...base.inference, maxModelLen: 4096 } },
      { ...base, inference: { ...base.inference, template: { name: 'qwen' } } },
      { ...base, limits: { ...base.limits, maxRetryPerQuery: 0 } },
      { ...base, limits: { ...base.limits, requestTimeoutMs: 1000 } },
      { ...base, datasets: [{ ...base.datasets[0]!, contentHash: 'sha256:2' }] },
      { ...base, datasets: [{ ...base.datasets[0]!, predictionSetId: '00000000-0000-0000-0000-000000000001' }] },
      {
        ...base,
        scoring: { limits: { maxJudgingConcurrency: 8, maxJudgingRetryPerQ: 2 }, datasets: { ds: { metric: 'f1' } } },
      },
      {
        ...base,
        scoring: {
          limits: { maxJudgingConcurrency: 8, maxJudgingRetryPerQ: 2 },
          datasets: {},
          customImage: { imageId: 'img', imageRef: 'proctor/eval-example:1', imageName: 'proctor-eval-example:1' },
        },
      },
    ];
    const prints = changed.map((c) => fp(c));
    expect(new Set([reference, ...prints]).size).toBe(changed.length + 1);
  });
});

async function finishedRun(ownerId: string, dataset: FixtureDataset, fingerprint: string): Promise<string> {
  const db = stack.db;
  const runId = await insertRun(db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  await db.insert(sampleResults).values(
    Array.from({ length: dataset.size }, (_, idx) => ({
      runId,
      datasetId: dataset.id,
      sampleIdx: idx,
      position: idx,
      predict: idx === 0 ? null : String(idx),
      score: idx === 0 ? null : 1,
      status: idx === 0 ? ('failed' as const) : ('scored' as const),
      error: idx === 0 ? 'boom' : null,
    })),
  );
  await db.insert(judgeSteps).values({
    runId,
    datasetId: dataset.id,
    sampleIdx: 1,
    itemId: `${dataset.id}-1`,
    method: 'judge',
    score: 1,
    error: null,
    attempts: 1,
    steps: [],
  });
  await db
    .update(runDatasets)
    .set({ status: 'succeeded', done: dataset.size, failed: 1, endedAt: sql`now()` })
    .where(eq(runDatasets.runId, runId));
  await db.update(runs).set({ status: 'succeeded' }).where(eq(runs.id, runId));
  await db
    .insert(runDatasetReuse)
    .values({ runId, datasetId: dataset.id, fingerprint, mayReuse: true, decidedAt: sql`now()` });
  return runId;
}

async function queuedRun(
  ownerId: string,
  dataset: FixtureDataset,
  fingerprint: string,
  mayReuse = true,
): Promise<string> {
  const runId = await insertRun(stack.db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  await stack.db.insert(runDatasetReuse).values({ runId, datasetId: dataset.id, fingerprint, mayReuse });
  return runId;
}

describe('reuse records', () => {
  it('decides once, copies idempotently, and never crosses owners or an opt-out', async () => {
    const db = stack.db;
    const owner = await insertUser(db);
    const stranger = await insertUser(db);
    const dataset = await insertArithmeticDataset(db, 6);
    const fingerprint = `sha256:test-${dataset.id}`;
    const source = await finishedRun(owner, dataset, fingerprint);

    const target = await queuedRun(owner, dataset, fingerprint);
    expect(await decideReuse(db, target, dataset.id)).toEqual({ runId: source, version: 1 });
    for (let i = 0; i < 2; i++)
      expect(await copyReusedResult(db, target, dataset.id, source)).toEqual({ samples: 6, failed: 1 });
    const [row] = await db
      .select()
      .from(runDatasets)
      .where(and(eq(runDatasets.runId, target), eq(runDatasets.datasetId, dataset.id)));
    expect({ done: row!.done, failed: row!.failed }).toEqual({ done: 6, failed: 1 });
    const copied = await db.select().from(sampleResults).where(eq(sampleResults.runId, target));
    const original = await db.select().from(sampleResults).where(eq(sampleResults.runId, source));
    const strip = (rows: typeof copied) =>
      rows.map(({ runId: _r, createdAt: _c, ...rest }) => rest).sort((a, b) => a.sampleIdx - b.sampleIdx);
    expect(strip(copied)).toEqual(strip(original));
    const steps = await db.select().from(judgeSteps).where(eq(judgeSteps.runId, target));
    expect(steps.map((j) => ({ sampleIdx: j.sampleIdx, itemId: j.itemId, score: j.score }))).toEqual([
      { sampleIdx: 1, itemId: `${dataset.id}-1`, score: 1 },
    ]);

    // A dataset that did not reuse when it began never starts to later (it begins again after continue-as-new).
    const undecided = await queuedRun(owner, dataset, `${fingerprint}-other`);
    expect(await decideReuse(db, undecided, dataset.id)).toBeNull();
    await db.update(runDatasetReuse).set({ fingerprint }).where(eq(runDatasetReuse.runId, undecided));
    expect(await decideReuse(db, undecided, dataset.id)).toBeNull();

    expect(await decideReuse(db, await queuedRun(owner, dataset, fingerprint, false), dataset.id)).toBeNull();
    expect(await decideReuse(db, await queuedRun(stranger, dataset, fingerprint), dataset.id)).toBeNull();
  });
});
