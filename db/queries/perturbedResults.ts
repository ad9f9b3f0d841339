/**
 * The robustness pass's records (perturbed_sample_results): one row per sample,
 * written once (ON CONFLICT DO NOTHING) like the clean pass's, and the paired clean and perturbed
 * scores the dataset's robustness is computed from.
 */
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { perturbedSampleResults } from '../schema';
import type { SampleResultRow } from './sampleResults';

/** A clean result's fields and the perturbed prompt that was asked. */
export interface PerturbedRow extends SampleResultRow {
  prompt: string;
}

export async function storedPerturbedPositions(
  db: Db,
  runId: string,
  datasetId: string,
  from: number,
  to: number,
): Promise<Set<number>> {
  const rows = await db
    .select({ position: perturbedSampleResults.position })
    .from(perturbedSampleResults)
    .where(
      and(
        eq(perturbedSampleResults.runId, runId),
        eq(perturbedSampleResults.datasetId, datasetId),
        gte(perturbedSampleResults.position, from),
        lt(perturbedSampleResults.position, to),
      ),
    );
  return new Set(rows.map((r) => r.position));
}

/** Writes the rows not stored yet; what was new, and how many of those failed, as the clean pass's store says. */
export async function storePerturbedRows(
  db: Db,
  runId: string,
  datasetId: string,
  rows: readonly PerturbedRow[],
): Promise<{ stored: number; failed: number }> {
  if (rows.length === 0) return { stored: 0, failed: 0 };
  const inserted = await db
    .insert(perturbedSampleResults)
    .values(rows.map((r) => ({ runId, datasetId, ...r })))
    .onConflictDoNothing()
    .returning({ status: perturbedSampleResults.status });
  return { stored: inserted.length, failed: inserted.filter((r) => r.status === 'failed').length };
}

/** Clean and perturbed score of every sample both passes stored (failed = 0), in sample order; and how many perturbed ones failed. */
export async function pairedScores(
  db: Db,
  runId: string,
  datasetId: string,
): Promise<{ clean: number[]; perturbed: number[]; failed: number }> {
  const rows = await db.execute<{ clean: number; perturbed: number; failed: boolean }>(sql`
    select coalesce(s.score, 0)::double precision as clean, coalesce(p.score, 0)::double precision as perturbed, p.status = 'failed' as failed
      from perturbed_sample_results p
      join sample_results s on s.run_id = p.run_id and s.dataset_id = p.dataset_id and s.sample_idx = p.sample_idx
     where p.run_id = ${runId}::uuid and p.dataset_id = ${datasetId}
     order by p.sample_idx`);
  return {
    clean: rows.map((r) => Number(r.clean)),
    perturbed: rows.map((r) => Number(r.perturbed)),
    failed: rows.filter((r) => r.failed).length,
  };
}
