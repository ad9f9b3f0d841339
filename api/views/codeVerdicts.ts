/**
 * The sandbox verdicts of pass_at_k samples, added to a page of results: each sample of a code
 * dataset gets `code` (n completions, c passing, one verdict each; verdicts null until it ran).
 */
import type { Db } from '../../db/client';
import type { CodeResult, RunConfig } from '../../contracts/run';
import { isCodeDataset } from '../../scoring/codeSampling';
import { codeVerdictsOf } from '../../db/queries/codeSamples';

export async function withCodeVerdicts<I extends { id: string; dataset: string }, P extends { items: I[] }>(
  db: Db,
  runId: string,
  config: RunConfig,
  page: P,
): Promise<Omit<P, 'items'> & { items: (I & { code?: CodeResult })[] }> {
  const coded = new Set(config.datasets.filter((d) => isCodeDataset(d)).map((d) => d.datasetId));
  if (!page.items.some((i) => coded.has(i.dataset))) return page;
  const found = new Map<string, CodeResult>();
  for (const datasetId of coded) {
    const ids = page.items.filter((i) => i.dataset === datasetId).map((i) => i.id);
    for (const [itemId, result] of await codeVerdictsOf(db, runId, datasetId, ids))
      found.set(`${datasetId}/${itemId}`, result);
  }
  return {
    ...page,
    items: page.items.map((i) =>
      coded.has(i.dataset) ? { ...i, code: found.get(`${i.dataset}/${i.id}`) ?? { n: 0, c: 0, verdicts: null } } : i,
    ),
  };
}
