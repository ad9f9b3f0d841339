/**
 * A pass_at_k dataset's metrics: the usual record (its score, the mean of the samples' c/n, is
 * pass@1, failed samples 0) with the mean pass@k of every configured k that all problems reach.
 */
import type { Db } from '../../db/client';
import type { DatasetMetrics, RunConfig } from '../../contracts/run';
import { meanPassAtK } from '../../scoring/metrics/passAtK';
import { codeSamplingFor } from '../../scoring/codeSampling';
import { codePassCounts } from '../../db/queries/codeSamples';

export async function withPassAtK(
  db: Db,
  config: RunConfig,
  runId: string,
  datasetId: string,
  metrics: DatasetMetrics,
): Promise<DatasetMetrics> {
  const { n, ks } = codeSamplingFor(config, datasetId);
  const counts = await codePassCounts(db, runId, datasetId, n);
  const byK = meanPassAtK(counts, ks);
  return { ...metrics, passAtK: Object.fromEntries(Object.entries(byK).map(([k, v]) => [String(k), v])) };
}
