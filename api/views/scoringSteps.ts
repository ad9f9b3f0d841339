/**
 * The scoring steps of judged samples, added to a page of results: each sample of a dataset the
 * run scores with a judge metric gets `scoring` (null while it waits for its judge).
 */
import type { Db } from '../../db/client';
import type { RunConfig, SampleResultView } from '../../contracts/run';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { traceKey, tracesOf } from '../../db/queries/judgeSteps';

export async function withScoringSteps<P extends { items: SampleResultView[] }>(
  db: Db,
  runId: string,
  config: RunConfig,
  page: P,
): Promise<Omit<P, 'items'> & { items: (SampleResultView & { scoring?: ScoringTrace | null })[] }> {
  const judged = (dataset: string) => config.scoring?.datasets[dataset]?.metric === 'judge';
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
