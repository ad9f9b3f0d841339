/**
 * A run's tokens and cost as its view, report and comparison show them: sums over the samples
 * stored so far (so they grow while the run goes), priced with the prices frozen at launch, and
 * the judge's tokens, kept apart on the run's datasets.
 */
import { inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { runDatasets, sampleResults } from '../schema';
import type { RunConfig } from '../../contracts/run';
import { costOf, type Prices, type TokenUsage } from '../../contracts/tokens';

export interface UsageSums {
  promptTokens: number;
  completionTokens: number;
  samples: number;
  countedSamples: number;
  latencyMs: number;
}

const NONE: UsageSums = { promptTokens: 0, completionTokens: 0, samples: 0, countedSamples: 0, latencyMs: 0 };

/** Sums of the answered samples, by run and then dataset. */
export async function usageSums(db: Db, runIds: readonly string[]): Promise<Map<string, Map<string, UsageSums>>> {
  const byRun = new Map<string, Map<string, UsageSums>>();
  if (runIds.length === 0) return byRun;
  const rows = await db
    .select({
      runId: sampleResults.runId,
      datasetId: sampleResults.datasetId,
      promptTokens: sql<string>`coalesce(sum(${sampleResults.promptTokens}) filter (where ${sampleResults.status} <> 'failed'), 0)`,
      completionTokens: sql<string>`coalesce(sum(${sampleResults.outputLength}) filter (where ${sampleResults.status} <> 'failed'), 0)`,
      samples: sql<string>`count(*) filter (where ${sampleResults.status} <> 'failed')`,
      countedSamples: sql<string>`count(*) filter (where ${sampleResults.status} <> 'failed' and ${sampleResults.tokensCounted})`,
      latencyMs: sql<string>`coalesce(sum(${sampleResults.latencyMs}) filter (where ${sampleResults.status} <> 'failed'), 0)`,
    })
    .from(sampleResults)
    .where(inArray(sampleResults.runId, [...runIds]))
    .groupBy(sampleResults.runId, sampleResults.datasetId);
  for (const r of rows) {
    let run = byRun.get(r.runId);
    if (!run) byRun.set(r.runId, (run = new Map()));
    run.set(r.datasetId, {
      promptTokens: Number(r.promptTokens),
      completionTokens: Number(r.completionTokens),
      samples: Number(r.samples),
      countedSamples: Number(r.countedSamples),
      latencyMs: Number(r.latencyMs),
    });
  }
  return byRun;
}

export function addSums(all: Iterable<UsageSums>): UsageSums {
  const total = { ...NONE };
  for (const s of all) {
    total.promptTokens += s.promptTokens;
    total.completionTokens += s.completionTokens;
    total.samples += s.samples;
    total.countedSamples += s.countedSamples;
    total.latencyMs += s.latencyMs;
  }
  return total;
}

export function priced(sums: UsageSums | undefined, prices: Prices | null | undefined): TokenUsage {
  const s = sums ?? NONE;
  return {
    promptTokens: s.promptTokens,
    completionTokens: s.completionTokens,
    samples: s.samples,
    countedSamples: s.countedSamples,
    cost: costOf(prices, s.promptTokens, s.completionTokens),
    currency: prices?.currency ?? null,
  };
}

export interface JudgeUsageView {
  promptTokens: number;
  completionTokens: number;
  cost: number | null;
  currency: string | null;
}

/** The judge's prices for a dataset of the run, when it is judged by a priced judge. */
export function judgePrices(config: RunConfig, datasetId: string): Prices | null {
  return config.scoring?.datasets[datasetId]?.judge?.prices ?? null;
}

export function judgeUsageOf(
  d: { judgePromptTokens: number; judgeCompletionTokens: number },
  prices: Prices | null,
): JudgeUsageView | null {
  if (d.judgePromptTokens === 0 && d.judgeCompletionTokens === 0) return null;
  return {
    promptTokens: d.judgePromptTokens,
    completionTokens: d.judgeCompletionTokens,
    cost: costOf(prices, d.judgePromptTokens, d.judgeCompletionTokens),
    currency: prices?.currency ?? null,
  };
}

/** The run's judge usage: the datasets' added up; cost only when every judged dataset has a price. */
export function totalJudgeUsage(parts: readonly (JudgeUsageView | null)[]): JudgeUsageView | null {
  const used = parts.filter((p): p is JudgeUsageView => p !== null);
  if (used.length === 0) return null;
  const allPriced = used.every((p) => p.cost !== null);
  return {
    promptTokens: used.reduce((n, p) => n + p.promptTokens, 0),
    completionTokens: used.reduce((n, p) => n + p.completionTokens, 0),
    cost: allPriced ? used.reduce((n, p) => n + p.cost!, 0) : null,
    currency: used.find((p) => p.currency !== null)?.currency ?? null,
  };
}

/** Adds a judging batch's tokens to its dataset's judge counters. */
export async function addJudgeTokens(
  db: Db,
  runId: string,
  datasetId: string,
  promptTokens: number,
  completionTokens: number,
): Promise<void> {
  if (promptTokens === 0 && completionTokens === 0) return;
  await db
    .update(runDatasets)
    .set({
      judgePromptTokens: sql`${runDatasets.judgePromptTokens} + ${promptTokens}`,
      judgeCompletionTokens: sql`${runDatasets.judgeCompletionTokens} + ${completionTokens}`,
    })
    .where(sql`${runDatasets.runId} = ${runId} and ${runDatasets.datasetId} = ${datasetId}`);
}
