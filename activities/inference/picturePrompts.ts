/**
 * What an item is asked as: its prompt text, or, for a multimodal vqa item (docs/multimodal.md), a
 * question with its pictures, which a chat endpoint gets as content parts. The pictures come from
 * activities/multimodal/datasetPictures.ts: drawn for a built-in, read from PostgreSQL for a
 * custom dataset.
 */
import type { Db } from '../../db/client';
import type { RunDatasetPlan } from '../../contracts/run';
import type { StoredItem } from '../../db/queries/datasets';
import { datasetPicture } from '../multimodal/datasetPictures';
import type { Prompt } from './modelEndpoint';

export async function promptOf(db: Db, plan: RunDatasetPlan, item: StoredItem): Promise<Prompt> {
  if (plan.metric !== 'vqa_accuracy') return item.prompt;
  const names = item.metadata?.images;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string'))
    throw new Error(`item ${item.itemId} of dataset ${plan.datasetId} names no pictures (metadata.images)`);
  return { text: item.prompt, images: await Promise.all((names as string[]).map((n) => datasetPicture(db, plan, n))) };
}
