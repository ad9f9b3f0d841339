/** The samples of a run's report (activities/report/excelReport.ts), read a keyset page at a time. */
import { and, asc, eq, sql, type AnyColumn } from 'drizzle-orm';
import type { Db } from '../client';
import { datasetItems, sampleResults } from '../schema';

const chars = (column: AnyColumn) => sql<number | null>`char_length(${column})`;

/**
 * One keyset page of a dataset's samples after `after`, in sample-plan order (served by
 * sample_results_position_idx). Text columns are clipped to `maxChars` in SQL, with their full
 * length beside them, so a page of huge prompts never crosses the wire whole.
 */
export function reportSamplePage(
  db: Db,
  runId: string,
  datasetId: string,
  after: { position: number; sampleIdx: number },
  page: { pageSize: number; maxChars: number },
) {
  const clipped = (column: AnyColumn) => sql<string | null>`left(${column}, ${sql.raw(String(page.maxChars))})`;
  return (
    db
      .select({
        sampleIdx: sampleResults.sampleIdx,
        position: sampleResults.position,
        itemId: datasetItems.itemId,
        prompt: clipped(datasetItems.prompt),
        promptChars: chars(datasetItems.prompt),
        groundTruth: clipped(datasetItems.groundTruth),
        groundTruthChars: chars(datasetItems.groundTruth),
        predict: clipped(sampleResults.predict),
        predictChars: chars(sampleResults.predict),
        score: sampleResults.score,
        status: sampleResults.status,
        error: clipped(sampleResults.error),
        errorChars: chars(sampleResults.error),
        outputLength: sampleResults.outputLength,
        latencyMs: sampleResults.latencyMs,
        attempts: sampleResults.attempts,
        promptTokens: sampleResults.promptTokens,
        tokensCounted: sampleResults.tokensCounted,
      })
      .from(sampleResults)
      // A left join keeps the sample in the report even if its dataset item has since been deleted.
      .leftJoin(
        datasetItems,
        and(eq(datasetItems.datasetId, sampleResults.datasetId), eq(datasetItems.idx, sampleResults.sampleIdx)),
      )
      .where(
        and(
          eq(sampleResults.runId, runId),
          eq(sampleResults.datasetId, datasetId),
          sql`(${sampleResults.position}, ${sampleResults.sampleIdx}) > (${after.position}, ${after.sampleIdx})`,
        ),
      )
      .orderBy(asc(sampleResults.position), asc(sampleResults.sampleIdx))
      .limit(page.pageSize)
  );
}
