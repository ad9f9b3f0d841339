/**
 * What an item is asked as: its prompt text, or, for a multimodal vqa item (docs/multimodal.md), a
 * question with its pictures, which a chat endpoint gets as content parts. The built-in datasets'
 * pictures are drawn from their stored scenes (datasets/builtin/multimodal/builtinImages.ts) and
 * kept in a small cache, since a batch's lanes ask the same few pictures again and again across
 * a run's retries.
 */
import { renderBuiltinImage, BUILTIN_IMAGE_DATASET_IDS } from '../../datasets/builtin/multimodal/builtinImages';
import type { RunDatasetPlan } from '../../contracts/run';
import type { StoredItem } from '../../db/queries/datasets';
import type { Prompt } from './modelEndpoint';

const CACHE_ENTRIES = 512;
const cache = new Map<string, Buffer>();

function picture(datasetId: string, name: string): Buffer {
  const key = `${datasetId}/${name}`;
  let png = cache.get(key);
  if (png) {
    // Most recently used last, so the oldest goes first.
    cache.delete(key);
  } else {
    png = renderBuiltinImage(datasetId, name);
  }
  cache.set(key, png);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return png;
}

export function promptOf(plan: RunDatasetPlan, item: StoredItem): Prompt {
  if (plan.metric !== 'vqa_accuracy') return item.prompt;
  const names = item.metadata?.images;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string'))
    throw new Error(`item ${item.itemId} of dataset ${plan.datasetId} names no pictures (metadata.images)`);
  if (!BUILTIN_IMAGE_DATASET_IDS.includes(plan.datasetId))
    throw new Error(`dataset ${plan.datasetId} has no pictures on this platform: only the built-in ones have`);
  return { text: item.prompt, images: (names as string[]).map((name) => picture(plan.datasetId, name)) };
}
