/**
 * Judged samples as records. A sample of a judge metric is stored by its inference batch with
 * status `pending`; its judgement then writes the scoring steps and moves the sample to `scored` or
 * `failed` in one transaction, guarded by the pending status, so a judgement retried after a crash
 * neither judges a sample twice nor counts its failure twice.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { datasetItems, judgeSteps, runDatasets, sampleResults } from '../schema';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { pendingInRange } from './sampleResults';

export interface PendingSample {
  sampleIdx: number;
  position: number;
  itemId: string;
  prompt: string;
  groundTruth: string;
  choices: string[] | null;
  predict: string;
}

/** Up to `limit` samples in positions [from, to) still waiting for their judge, in run order. */
export async function pendingSamples(
  db: Db,
  runId: string,
  datasetId: string,
  from: number,
  to: number,
  limit: number,
): Promise<PendingSample[]> {
  const rows = await db
    .select({
      sampleIdx: sampleResults.sampleIdx,
      position: sampleResults.position,
      itemId: datasetItems.itemId,
      prompt: datasetItems.prompt,
      groundTruth: datasetItems.groundTruth,
      choices: datasetItems.choices,
      predict: sampleResults.predict,
    })
    .from(sampleResults)
    .innerJoin(
      datasetItems,
      and(eq(datasetItems.datasetId, sampleResults.datasetId), eq(datasetItems.idx, sampleResults.sampleIdx)),
    )
    .where(pendingInRange(runId, datasetId, from, to))
    .orderBy(sampleResults.position)
    .limit(limit);
  return rows.map((r) => ({ ...r, predict: r.predict ?? '' }));
}

export interface Judgement {
  sampleIdx: number;
  itemId: string;
  trace: ScoringTrace;
}

/** Stores judgements; returns how many samples moved out of pending, and how many of those failed. */
export async function storeJudgements(
  db: Db,
  runId: string,
  datasetId: string,
  judgements: readonly Judgement[],
): Promise<{ judged: number; failed: number }> {
  if (judgements.length === 0) return { judged: 0, failed: 0 };
  return db.transaction(async (tx) => {
    const moved = await tx.execute<{ status: string }>(sql`
      update ${sampleResults} as s
         set status = case when j.score is null then 'failed' else 'scored' end, score = j.score, error = j.error
        from unnest(
          ${sql.param(judgements.map((j) => j.sampleIdx))}::integer[],
          ${sql.param(judgements.map((j) => j.trace.score))}::double precision[],
          ${sql.param(judgements.map((j) => j.trace.error))}::text[]
        ) as j(sample_idx, score, error)
       where s.run_id = ${runId}::uuid and s.dataset_id = ${datasetId} and s.sample_idx = j.sample_idx and s.status = 'pending'
      returning s.status`);
    const failed = moved.filter((r) => r.status === 'failed').length;
    // Steps are kept for every judgement that moved a sample; a duplicate from a retried attempt changes nothing.
    await tx
      .insert(judgeSteps)
      .values(
        judgements.map((j) => ({
          runId,
          datasetId,
          sampleIdx: j.sampleIdx,
          itemId: j.itemId,
          method: j.trace.method,
          score: j.trace.score,
          error: j.trace.error,
          attempts: j.trace.attempts,
          steps: j.trace.steps,
        })),
      )
      .onConflictDoNothing();
    if (failed > 0) {
      await tx
        .update(runDatasets)
        .set({ failed: sql`${runDatasets.failed} + ${failed}` })
        .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId)));
    }
    return { judged: moved.length, failed };
  });
}

/**
 * Samples a dataset leaves pending when it ends (stopped, or its judging broke for good) fail with
 * the reason, so every sample ends scored or failed and is counted once.
 */
export async function failPendingSamples(db: Db, runId: string, datasetId: string, reason: string): Promise<number> {
  return db.transaction(async (tx) => {
    const moved = await tx
      .update(sampleResults)
      .set({ status: 'failed', error: reason, score: null })
      .where(
        and(
          eq(sampleResults.runId, runId),
          eq(sampleResults.datasetId, datasetId),
          eq(sampleResults.status, 'pending'),
        ),
      )
      .returning({ idx: sampleResults.sampleIdx });
    if (moved.length > 0) {
      await tx
        .update(runDatasets)
        .set({ failed: sql`${runDatasets.failed} + ${moved.length}` })
        .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId)));
    }
    return moved.length;
  });
}

export type StoredTrace = ScoringTrace & { dataset: string; itemId: string };

/** The steps of the given samples of a run, by `dataset/itemId`. */
export async function tracesOf(
  db: Db,
  runId: string,
  samples: readonly { dataset: string; id: string }[],
): Promise<Map<string, ScoringTrace>> {
  const out = new Map<string, ScoringTrace>();
  const byDataset = new Map<string, string[]>();
  for (const s of samples) byDataset.set(s.dataset, [...(byDataset.get(s.dataset) ?? []), s.id]);
  for (const [datasetId, itemIds] of byDataset) {
    const rows = await db
      .select()
      .from(judgeSteps)
      .where(
        and(eq(judgeSteps.runId, runId), eq(judgeSteps.datasetId, datasetId), inArray(judgeSteps.itemId, itemIds)),
      );
    for (const r of rows)
      out.set(traceKey(datasetId, r.itemId), {
        method: r.method,
        steps: r.steps,
        score: r.score,
        error: r.error,
        attempts: r.attempts,
      });
  }
  return out;
}

export const traceKey = (datasetId: string, itemId: string) => `${datasetId}/${itemId}`;

/** Every stored trace of a run in dataset and sample order, a page at a time (for the report). */
export async function* allTraces(db: Db, runId: string, pageSize = 1000): AsyncGenerator<StoredTrace> {
  let after: { datasetId: string; sampleIdx: number } | null = null;
  for (;;) {
    const rows: (typeof judgeSteps.$inferSelect)[] = await db
      .select()
      .from(judgeSteps)
      .where(
        and(
          eq(judgeSteps.runId, runId),
          after
            ? sql`(${judgeSteps.datasetId}, ${judgeSteps.sampleIdx}) > (${after.datasetId}, ${after.sampleIdx})`
            : undefined,
        ),
      )
      .orderBy(judgeSteps.datasetId, judgeSteps.sampleIdx)
      .limit(pageSize);
    for (const r of rows)
      yield {
        dataset: r.datasetId,
        itemId: r.itemId,
        method: r.method,
        steps: r.steps,
        score: r.score,
        error: r.error,
        attempts: r.attempts,
      };
    if (rows.length < pageSize) return;
    const last = rows.at(-1)!;
    after = { datasetId: last.datasetId, sampleIdx: last.sampleIdx };
  }
}

/** Every sample of a dataset of a run with its item's ground truth and language and, once judged, its steps. */
export async function labelledSamples(db: Db, runId: string, datasetId: string) {
  return db
    .select({
      groundTruth: datasetItems.groundTruth,
      language: sql<string | null>`${datasetItems.metadata}->>'language'`,
      method: judgeSteps.method,
      steps: judgeSteps.steps,
    })
    .from(sampleResults)
    .innerJoin(
      datasetItems,
      and(eq(datasetItems.datasetId, sampleResults.datasetId), eq(datasetItems.idx, sampleResults.sampleIdx)),
    )
    .leftJoin(
      judgeSteps,
      and(
        eq(judgeSteps.runId, sampleResults.runId),
        eq(judgeSteps.datasetId, sampleResults.datasetId),
        eq(judgeSteps.sampleIdx, sampleResults.sampleIdx),
      ),
    )
    .where(and(eq(sampleResults.runId, runId), eq(sampleResults.datasetId, datasetId)));
}
