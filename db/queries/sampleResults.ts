/**
 * Per-sample results. The primary key (run, dataset, sample) plus ON CONFLICT DO NOTHING is what
 * makes "every sample scored exactly once" hold across crashed and retried batches; the dataset's
 * counters advance in the same transaction by exactly the rows that were new.
 */
import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { runDatasets, sampleResults } from '../schema';
import type { SampleStatus } from '../../contracts/run';

export interface SampleResultRow {
  sampleIdx: number;
  position: number;
  predict: string | null;
  score: number | null;
  status: SampleStatus;
  error: string | null;
  outputLength: number;
  latencyMs: number;
  attempts: number;
  /** Absent: 0 (a failed sample, or rows from paths that ask no model). */
  promptTokens?: number;
  tokensCounted?: boolean;
}

/** Positions in [from, to) that already have a stored result. */
export async function storedPositions(
  db: Db,
  runId: string,
  datasetId: string,
  from: number,
  to: number,
): Promise<Set<number>> {
  const rows = await db
    .select({ position: sampleResults.position })
    .from(sampleResults)
    .where(
      and(
        eq(sampleResults.runId, runId),
        eq(sampleResults.datasetId, datasetId),
        gte(sampleResults.position, from),
        lt(sampleResults.position, to),
      ),
    );
  return new Set(rows.map((r) => r.position));
}

export async function storeSampleResults(
  db: Db,
  runId: string,
  datasetId: string,
  rows: readonly SampleResultRow[],
): Promise<{ stored: number; failed: number }> {
  if (rows.length === 0) return { stored: 0, failed: 0 };
  // One array per column, unnested by the server: building a 200-row VALUES list cost the worker
  // several milliseconds of CPU per group (bench/README.md), during which no answer was read.
  // Booleans go as text: the driver sends a list of booleans as one boolean, which no cast turns into a list.
  const column = <T>(pick: (r: SampleResultRow) => T) => sql.param(rows.map(pick));
  return db.transaction(async (tx) => {
    const inserted = await tx.execute<{ status: SampleStatus }>(sql`
      insert into ${sampleResults} (run_id, dataset_id, sample_idx, position, predict, score, status, error, output_length, latency_ms, attempts, prompt_tokens, tokens_counted)
      select ${runId}::uuid, ${datasetId}, r.*
      from unnest(
        ${column((r) => r.sampleIdx)}::integer[], ${column((r) => r.position)}::integer[], ${column((r) => r.predict)}::text[],
        ${column((r) => r.score)}::double precision[], ${column((r) => r.status)}::text[], ${column((r) => r.error)}::text[],
        ${column((r) => r.outputLength)}::integer[], ${column((r) => r.latencyMs)}::integer[], ${column((r) => r.attempts)}::integer[],
        ${column((r) => r.promptTokens ?? 0)}::integer[], ${column((r) => String(r.tokensCounted ?? false))}::text[]::boolean[]
      ) as r
      on conflict do nothing
      returning status`);
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

export async function countStored(db: Db, runId: string, datasetIds: string[]): Promise<number> {
  const [row] = await db
    .select({ n: sql<string>`count(*)` })
    .from(sampleResults)
    .where(and(eq(sampleResults.runId, runId), inArray(sampleResults.datasetId, datasetIds)));
  return Number(row?.n ?? 0);
}

/**
 * A dataset given up on (its endpoint unusable, its container gone) leaves samples never asked;
 * each gets a failed row carrying the reason, so every sample of a dataset is accounted for once,
 * in the results, the counts and the report, whatever ended it. `sampleIndices` maps positions to
 * item indices for a verification's draw; a formal run's position is its index.
 */
export async function failUnattemptedSamples(
  db: Db,
  runId: string,
  datasetId: string,
  total: number,
  sampleIndices: readonly number[] | null | undefined,
  reason: string,
): Promise<number> {
  if (total <= 0) return 0;
  const indices = sql.param(sampleIndices ? [...sampleIndices] : null);
  return db.transaction(async (tx) => {
    const inserted = await tx.execute<{ position: number }>(sql`
      insert into ${sampleResults} (run_id, dataset_id, sample_idx, position, predict, score, status, error, output_length, latency_ms, attempts)
      select ${runId}::uuid, ${datasetId}, coalesce((${indices}::integer[])[p + 1], p), p, null, null, 'failed', ${reason}, 0, 0, 0
      from generate_series(0, ${total - 1}::integer) as p
      on conflict do nothing
      returning position`);
    if (inserted.length > 0) {
      await tx
        .update(runDatasets)
        .set({
          done: sql`${runDatasets.done} + ${inserted.length}`,
          failed: sql`${runDatasets.failed} + ${inserted.length}`,
        })
        .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId)));
    }
    return inserted.length;
  });
}

/** Samples of [from, to) stored pending a later scoring step (a judge, the code sandbox). */
export function pendingInRange(runId: string, datasetId: string, from: number, to: number) {
  return and(
    eq(sampleResults.runId, runId),
    eq(sampleResults.datasetId, datasetId),
    eq(sampleResults.status, 'pending'),
    gte(sampleResults.position, from),
    lt(sampleResults.position, to),
  );
}
