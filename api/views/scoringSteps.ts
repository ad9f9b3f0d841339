/**
 * The scoring steps of judged samples, added to a page of results: each sample of a dataset the
 * run scores with a judge metric, or of a safety dataset, gets `scoring` (null while it waits for
 * its judge or the fallback).
 */
import type { Db } from '../../db/client';
import type { RunConfig, SampleResultView } from '../../contracts/run';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { SAFETY_METRIC } from '../../contracts/dataset';
import { traceKey, tracesOf } from '../../db/queries/judgeSteps';

export async function withScoringSteps<P extends { items: SampleResultView[] }>(
  db: Db,
  runId: string,
  config: RunConfig,
  page: P,
): Promise<Omit<P, 'items'> & { items: (SampleResultView & { scoring?: ScoringTrace | null })[] }> {
  const safety = new Set(config.datasets.filter((d) => d.metric === SAFETY_METRIC).map((d) => d.datasetId));
  const judged = (dataset: string) => safety.has(dataset) || config.scoring?.datasets[dataset]?.metric === 'judge';
  const wanted = page.items.filter((i) => judged(i.dataset));
  if (wanted.length === 0) return page;
  const traces = await tracesOf(db, runId, wanted);
  return {
    ...page,
    items: page.items.map((i) =>
      judged(i.dataset) ? { ...i, scoring: traces.get(traceKey(i.dataset, i.id)) ?? null } : i,
    ),
  };
}
