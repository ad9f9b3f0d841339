/**
 * The "model" of an evaluation-only run: each item's answer is the prediction its owner uploaded
 * (db/queries/predictions.ts), looked up instead of asked for, so scoring, storage, metrics, the
 * report and quotas run exactly as for a model behind an endpoint, and no request leaves the worker.
 * The batch's predictions are read in one query when the first lane asks.
 */
import type { Db } from '../../db/client';
import type { StoredItem } from '../../db/queries/datasets';
import { predictionsAt } from '../../db/queries/predictions';
import type { ModelEndpoint } from './modelEndpoint';
import { approximateTokens } from './tokenCount';
import { InferenceError } from './inferenceErrors';

/** The endpoint that answers one item: shared by every item for a real model, one per item here. */
export interface ItemEndpoints {
  forItem(item: StoredItem): ModelEndpoint;
}

export function sharedEndpoint(endpoint: ModelEndpoint): ItemEndpoints {
  return { forItem: () => endpoint };
}

export function createPredictionsEndpoints(o: {
  db: Db;
  setId: string;
  datasetId: string;
  indices: readonly number[];
}): ItemEndpoints {
  let loaded: Promise<Map<number, string>> | null = null;
  const predictions = () => {
    // A failed read is forgotten, so the next sample's attempt reads again.
    loaded ??= predictionsAt(o.db, o.setId, o.indices).catch((error: unknown) => {
      loaded = null;
      throw error;
    });
    return loaded;
  };
  return {
    forItem: (item) => ({
      async complete() {
        const text = (await predictions()).get(item.idx);
        // Uploads are refused unless they cover every item, so this means the set and the dataset disagree.
        if (text === undefined)
          throw new InferenceError(
            'not_found',
            `no uploaded prediction for item ${item.itemId} of dataset ${o.datasetId}`,
          );
        return { text, outputTokens: approximateTokens(text), tokensCounted: true };
      },
    }),
  };
}
