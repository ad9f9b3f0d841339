/**
 * Uploaded predictions (evaluation-only evaluations): sets stored whole in one transaction, the
 * latest set of each dataset, and the lookup a batch makes instead of calling a model.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { datasetItems, predictionSets, predictions, sampleResults } from '../schema';
import type { PredictionSetView } from '../../contracts/predictions';

/** Rows of 3 columns per insert statement, well under PostgreSQL's bind-parameter limit. */
const INSERT_CHUNK_ROWS = 5000;

export type PredictionSetRow = typeof predictionSets.$inferSelect;

/** Item ids of the dataset by index (`ids[idx]`): what an upload is checked against. */
export async function datasetItemIds(db: Db, datasetId: string): Promise<string[]> {
  const rows = await db
    .select({ idx: datasetItems.idx, itemId: datasetItems.itemId })
    .from(datasetItems)
    .where(eq(datasetItems.datasetId, datasetId))
    .orderBy(asc(datasetItems.idx));
  return rows.map((r) => r.itemId);
}

/** Stores a checked set, all or nothing. `byIndex[idx]` is the prediction of item idx. */
export async function insertPredictionSet(
  db: Db,
  set: { evaluationId: string; datasetId: string; datasetContentHash: string },
  byIndex: readonly string[],
): Promise<PredictionSetView> {
  return db.transaction(async (tx: Tx) => {
    const [row] = await tx
      .insert(predictionSets)
      .values({ ...set, items: byIndex.length })
      .returning();
    for (let start = 0; start < byIndex.length; start += INSERT_CHUNK_ROWS) {
      await tx
        .insert(predictions)
        .values(
          byIndex
            .slice(start, start + INSERT_CHUNK_ROWS)
            .map((prediction, k) => ({ setId: row!.id, sampleIdx: start + k, prediction })),
        );
    }
    return toPredictionSetView(row!);
  });
}

/** The latest set of each dataset of the evaluation (of `datasetIds` when given). */
export async function latestPredictionSets(
  db: Db | Tx,
  evaluationId: string,
  datasetIds?: readonly string[],
): Promise<Map<string, PredictionSetRow>> {
  const rows = await db
    .selectDistinctOn([predictionSets.datasetId])
    .from(predictionSets)
    .where(
      and(
        eq(predictionSets.evaluationId, evaluationId),
        datasetIds ? inArray(predictionSets.datasetId, datasetIds.length ? [...datasetIds] : ['']) : sql`true`,
      ),
    )
    .orderBy(asc(predictionSets.datasetId), desc(predictionSets.createdAt), desc(predictionSets.id));
  return new Map(rows.map((r) => [r.datasetId, r]));
}

/** The set's predictions at the given item indices. */
export async function predictionsAt(db: Db, setId: string, indices: readonly number[]): Promise<Map<number, string>> {
  if (indices.length === 0) return new Map();
  const rows = await db
    .select({ idx: predictions.sampleIdx, prediction: predictions.prediction })
    .from(predictions)
    .where(and(eq(predictions.setId, setId), inArray(predictions.sampleIdx, [...new Set(indices)])));
  return new Map(rows.map((r) => [r.idx, r.prediction]));
}

export function toPredictionSetView(row: PredictionSetRow): PredictionSetView {
  return {
    setId: row.id,
    evaluationId: row.evaluationId,
    datasetId: row.datasetId,
    items: row.items,
    datasetContentHash: row.datasetContentHash,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * An inference-only run's answers to one dataset as predictions, in item order: each stored answer
 * under its item's id, and "" for a sample that failed (as an upload says "no answer").
 */
export async function runAnswersAsPredictions(
  db: Db,
  runId: string,
  datasetId: string,
): Promise<{ id: string; prediction: string }[]> {
  const rows = await db
    .select({ id: datasetItems.itemId, predict: sampleResults.predict })
    .from(sampleResults)
    .innerJoin(
      datasetItems,
      and(eq(datasetItems.datasetId, sampleResults.datasetId), eq(datasetItems.idx, sampleResults.sampleIdx)),
    )
    .where(and(eq(sampleResults.runId, runId), eq(sampleResults.datasetId, datasetId)))
    .orderBy(asc(sampleResults.sampleIdx));
  return rows.map((r) => ({ id: r.id, prediction: r.predict ?? '' }));
}
