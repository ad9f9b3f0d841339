/**
 * What the estimate of a formal run reads (api/views/runEstimate.ts): the evaluation's latest
 * verification run that answered samples, its per-sample figures by dataset, and the sizes of the
 * evaluation's datasets.
 */
import { and, desc, eq, inArray, sql, type AnyColumn } from 'drizzle-orm';
import type { Db } from '../client';
import { datasets, runDatasets, runs, sampleResults } from '../schema';

export interface SampleStats {
  n: number;
  mean: number;
  /** Sample standard deviation; null when n < 2. */
  sd: number | null;
}

export interface VerifiedDataset {
  datasetId: string;
  latencyMs: SampleStats;
  promptTokens: SampleStats;
  completionTokens: SampleStats;
  /** The verification's dataset wall time in ms, when it started and ended. */
  wallMs: number | null;
  /** Lanes the verification's dataset ran with. */
  concurrency: number;
}

export interface VerificationFigures {
  run: { runId: string; version: number; endedAt: string | null; maxConcurrency: number };
  datasets: Map<string, VerifiedDataset>;
}

export async function latestVerificationFigures(db: Db, evaluationId: string): Promise<VerificationFigures | null> {
  const [latest] = await db
    .select({ id: runs.id, version: runs.version, endedAt: runs.endedAt, config: runs.config })
    .from(runs)
    .where(
      and(
        eq(runs.evaluationId, evaluationId),
        eq(runs.type, 'verification'),
        sql`exists (select 1 from ${sampleResults} where ${sampleResults.runId} = ${runs.id} and ${sampleResults.status} <> 'failed')`,
      ),
    )
    .orderBy(desc(runs.version))
    .limit(1);
  if (!latest) return null;
  const answered = sql`${sampleResults.status} <> 'failed'`;
  const stats = (column: AnyColumn) => ({
    mean: sql<string | null>`avg(${column}) filter (where ${answered})`,
    sd: sql<string | null>`stddev_samp(${column}) filter (where ${answered})`,
  });
  const rows = await db
    .select({
      datasetId: sampleResults.datasetId,
      n: sql<string>`count(*) filter (where ${answered})`,
      latency: stats(sampleResults.latencyMs),
      prompt: stats(sampleResults.promptTokens),
      completion: stats(sampleResults.outputLength),
    })
    .from(sampleResults)
    .where(eq(sampleResults.runId, latest.id))
    .groupBy(sampleResults.datasetId);
  const walls = await db
    .select({ datasetId: runDatasets.datasetId, startedAt: runDatasets.startedAt, endedAt: runDatasets.endedAt })
    .from(runDatasets)
    .where(eq(runDatasets.runId, latest.id));
  const wallOf = new Map(
    walls.map((w) => [w.datasetId, w.startedAt && w.endedAt ? w.endedAt.getTime() - w.startedAt.getTime() : null]),
  );
  const maxConcurrency = latest.config.limits.maxConcurrency;
  const out = new Map<string, VerifiedDataset>();
  for (const r of rows) {
    const n = Number(r.n);
    const s = (x: { mean: string | null; sd: string | null }) => ({
      n,
      mean: Number(x.mean ?? 0),
      sd: x.sd === null ? null : Number(x.sd),
    });
    out.set(r.datasetId, {
      datasetId: r.datasetId,
      latencyMs: s(r.latency),
      promptTokens: s(r.prompt),
      completionTokens: s(r.completion),
      wallMs: wallOf.get(r.datasetId) ?? null,
      concurrency: Math.max(1, Math.min(maxConcurrency, n)),
    });
  }
  return {
    run: {
      runId: latest.id,
      version: latest.version,
      endedAt: latest.endedAt?.toISOString() ?? null,
      maxConcurrency,
    },
    datasets: out,
  };
}

export async function datasetSizes(db: Db, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: datasets.id, size: datasets.size })
    .from(datasets)
    .where(inArray(datasets.id, [...ids]));
  return new Map(rows.map((r) => [r.id, r.size]));
}
