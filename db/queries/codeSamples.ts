/**
 * Records of pass_at_k samples. Inference stores a sample with its n completions as `pending`
 * (one insert, ON CONFLICT DO NOTHING, counters advanced by the rows that were new, as for every
 * sample); the sandbox's verdicts then move it to `scored` in one update guarded by the pending
 * status, so a retried scoring batch neither runs a sample's completions twice into the record nor
 * counts it twice.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { datasetItems, runDatasets, sampleResults } from '../schema';
import type { CodeVerdict, SampleStatus } from '../../contracts/run';
import { pendingInRange, type SampleResultRow } from './sampleResults';

export type CodeSampleRow = SampleResultRow & { completions: string[] | null };

export async function storeCodeSamples(
  db: Db,
  runId: string,
  datasetId: string,
  rows: readonly CodeSampleRow[],
): Promise<{ stored: number; failed: number }> {
  if (rows.length === 0) return { stored: 0, failed: 0 };
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(sampleResults)
      .values(
        rows.map((r) => ({
          runId,
          datasetId,
          sampleIdx: r.sampleIdx,
          position: r.position,
          predict: r.predict,
          score: r.score,
          status: r.status,
          error: r.error,
          outputLength: r.outputLength,
          latencyMs: r.latencyMs,
          attempts: r.attempts,
          promptTokens: r.promptTokens ?? 0,
          tokensCounted: r.tokensCounted ?? false,
          completions: r.completions,
        })),
      )
      .onConflictDoNothing()
      .returning({ status: sampleResults.status });
    const failed = inserted.filter((r) => r.status === 'failed').length;
    if (inserted.length > 0) {
      await tx
        .update(runDatasets)
        .set({ done: sql`${runDatasets.done} + ${inserted.length}`, failed: sql`${runDatasets.failed} + ${failed}` })
        .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId)));
    }
    return { stored: inserted.length, failed };
  });
}

export interface PendingCodeSample {
  sampleIdx: number;
  position: number;
  itemId: string;
  tests: string;
  entryPoint: string | null;
  /** metadata.program_prefix: code the answer's program runs after (scoring/programPrefix.ts). */
  prefix: string | null;
  completions: string[];
}

/** Up to `limit` pass_at_k samples in positions [from, to) waiting for the sandbox, in run order. */
export async function pendingCodeSamples(
  db: Db,
  runId: string,
  datasetId: string,
  from: number,
  to: number,
  limit: number,
): Promise<PendingCodeSample[]> {
  const rows = await db
    .select({
      sampleIdx: sampleResults.sampleIdx,
      position: sampleResults.position,
      itemId: datasetItems.itemId,
      tests: datasetItems.groundTruth,
      metadata: datasetItems.metadata,
      completions: sampleResults.completions,
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
  return rows.map((r) => ({
    sampleIdx: r.sampleIdx,
    position: r.position,
    itemId: r.itemId,
    tests: r.tests,
    entryPoint: typeof r.metadata?.entry_point === 'string' ? r.metadata.entry_point : null,
    prefix: typeof r.metadata?.program_prefix === 'string' ? r.metadata.program_prefix : null,
    completions: r.completions ?? (r.predict === null ? [] : [r.predict]),
  }));
}

export interface CodeScore {
  sampleIdx: number;
  /** c / n: the sample's pass@1 estimate; the dataset's pass@k comes from c and n (codePassCounts). */
  score: number;
  verdicts: CodeVerdict[];
}

/** Returns how many samples moved out of pending. */
export async function storeCodeScores(
  db: Db,
  runId: string,
  datasetId: string,
  scores: readonly CodeScore[],
): Promise<number> {
  if (scores.length === 0) return 0;
  const moved = await db.execute<{ status: SampleStatus }>(sql`
    update ${sampleResults} as s
       set status = 'scored', score = c.score, code_verdicts = c.verdicts
      from unnest(
        ${sql.param(scores.map((c) => c.sampleIdx))}::integer[],
        ${sql.param(scores.map((c) => c.score))}::double precision[],
        ${sql.param(scores.map((c) => JSON.stringify(c.verdicts)))}::jsonb[]
      ) as c(sample_idx, score, verdicts)
     where s.run_id = ${runId}::uuid and s.dataset_id = ${datasetId} and s.sample_idx = c.sample_idx and s.status = 'pending'
    returning s.status`);
  return moved.length;
}

/** n and c of every sample of a pass_at_k dataset; a failed sample counts as `n` completions of which none passed. */
export async function codePassCounts(
  db: Db,
  runId: string,
  datasetId: string,
  n: number,
): Promise<{ n: number; c: number }[]> {
  const rows = await db.execute<{ n: number; c: number }>(sql`
    select coalesce(jsonb_array_length(code_verdicts), ${n}::integer)::integer as n,
           coalesce((select count(*) from jsonb_array_elements(code_verdicts) v where (v->>'passed')::boolean), 0)::integer as c
      from sample_results
     where run_id = ${runId}::uuid and dataset_id = ${datasetId}
     order by sample_idx`);
  return rows.map((r) => ({ n: Number(r.n), c: Number(r.c) }));
}

/** The sandbox verdicts of the given samples, by item id (for the results view). */
export async function codeVerdictsOf(
  db: Db,
  runId: string,
  datasetId: string,
  itemIds: readonly string[],
): Promise<Map<string, { n: number; c: number; verdicts: CodeVerdict[] | null }>> {
  if (itemIds.length === 0) return new Map();
  const rows = await db.execute<{
    item_id: string;
    completions: string[] | null;
    code_verdicts: CodeVerdict[] | null;
  }>(sql`
    select i.item_id, s.completions, s.code_verdicts
      from sample_results s join dataset_items i on i.dataset_id = s.dataset_id and i.idx = s.sample_idx
     where s.run_id = ${runId}::uuid and s.dataset_id = ${datasetId} and i.item_id = any(${sql.param([...itemIds])}::text[])`);
  return new Map(
    rows.map((r) => [
      r.item_id,
      {
        n: r.code_verdicts?.length ?? r.completions?.length ?? 0,
        c: r.code_verdicts?.filter((v) => v.passed).length ?? 0,
        verdicts: r.code_verdicts,
      },
    ]),
  );
}
