/**
 * A run's answers beside a reference run's, sample by sample, on one dataset both scored on the
 * same content (TI-ONE's per-sample comparison): both answers and scores, paged in the run's
 * order, optionally only where the scores differ, and the counts of agreement.
 */
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../client';
import { datasetItems, sampleResults } from '../schema';

const reference = alias(sampleResults, 'reference');

export interface ComparedSample {
  index: number;
  id: string;
  sample: string;
  label: string;
  run: ComparedSide;
  reference: ComparedSide;
  agree: boolean;
}

export interface ComparedSide {
  predict: string | null;
  score: number | null;
  status: string;
  promptTokens: number;
  completionTokens: number;
}

export interface SideTokens {
  promptTokens: number;
  completionTokens: number;
}

export interface ComparisonCounts {
  /** Samples both runs have. */
  both: number;
  agree: number;
  disagree: number;
  /** Scored higher in the run than in the reference (a failed sample counts 0). */
  runBetter: number;
  referenceBetter: number;
  /** Tokens of the shared samples, each run's own. */
  tokens: { run: SideTokens; reference: SideTokens };
}

const differ = sql`${sampleResults.score} is distinct from ${reference.score}`;
const joined = (runId: string, referenceRunId: string, datasetId: string) =>
  and(
    eq(sampleResults.runId, runId),
    eq(sampleResults.datasetId, datasetId),
    eq(reference.runId, referenceRunId),
    eq(reference.datasetId, datasetId),
    eq(reference.sampleIdx, sampleResults.sampleIdx),
  );

export async function comparedSamples(
  db: Db,
  q: {
    runId: string;
    referenceRunId: string;
    datasetId: string;
    onlyDisagreements: boolean;
    afterPosition: number;
    limit: number;
  },
): Promise<{ items: ComparedSample[]; next: number | null }> {
  const rows = await db
    .select({
      index: sampleResults.sampleIdx,
      position: sampleResults.position,
      id: datasetItems.itemId,
      prompt: datasetItems.prompt,
      label: datasetItems.groundTruth,
      predict: sampleResults.predict,
      score: sampleResults.score,
      status: sampleResults.status,
      promptTokens: sampleResults.promptTokens,
      completionTokens: sampleResults.outputLength,
      refPredict: reference.predict,
      refScore: reference.score,
      refStatus: reference.status,
      refPromptTokens: reference.promptTokens,
      refCompletionTokens: reference.outputLength,
    })
    .from(sampleResults)
    .innerJoin(reference, joined(q.runId, q.referenceRunId, q.datasetId))
    .leftJoin(
      datasetItems,
      and(eq(datasetItems.datasetId, sampleResults.datasetId), eq(datasetItems.idx, sampleResults.sampleIdx)),
    )
    .where(and(gt(sampleResults.position, q.afterPosition), q.onlyDisagreements ? differ : undefined))
    .orderBy(asc(sampleResults.position))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((r) => ({
      index: r.index,
      id: r.id ?? `#${r.index}`,
      sample: r.prompt ?? '',
      label: r.label ?? '',
      run: {
        predict: r.predict,
        score: r.score,
        status: r.status,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
      },
      reference: {
        predict: r.refPredict,
        score: r.refScore,
        status: r.refStatus,
        promptTokens: r.refPromptTokens,
        completionTokens: r.refCompletionTokens,
      },
      agree: r.score === r.refScore,
    })),
    next: rows.length > q.limit ? page.at(-1)!.position : null,
  };
}

export async function comparisonCounts(
  db: Db,
  q: { runId: string; referenceRunId: string; datasetId: string },
): Promise<ComparisonCounts> {
  const [row] = await db
    .select({
      both: sql<number>`count(*)::int`,
      disagree: sql<number>`count(*) filter (where ${differ})::int`,
      runBetter: sql<number>`count(*) filter (where coalesce(${sampleResults.score}, 0) > coalesce(${reference.score}, 0))::int`,
      referenceBetter: sql<number>`count(*) filter (where coalesce(${sampleResults.score}, 0) < coalesce(${reference.score}, 0))::int`,
      runPrompt: sql<string>`coalesce(sum(${sampleResults.promptTokens}), 0)`,
      runCompletion: sql<string>`coalesce(sum(${sampleResults.outputLength}), 0)`,
      refPrompt: sql<string>`coalesce(sum(${reference.promptTokens}), 0)`,
      refCompletion: sql<string>`coalesce(sum(${reference.outputLength}), 0)`,
    })
    .from(sampleResults)
    .innerJoin(reference, joined(q.runId, q.referenceRunId, q.datasetId));
  const both = row?.both ?? 0;
  const disagree = row?.disagree ?? 0;
  return {
    both,
    agree: both - disagree,
    disagree,
    runBetter: row?.runBetter ?? 0,
    referenceBetter: row?.referenceBetter ?? 0,
    tokens: {
      run: { promptTokens: Number(row?.runPrompt ?? 0), completionTokens: Number(row?.runCompletion ?? 0) },
      reference: { promptTokens: Number(row?.refPrompt ?? 0), completionTokens: Number(row?.refCompletion ?? 0) },
    },
  };
}
