/**
 * The items of one batch, read a page at a time as the lanes reach them, the next page read ahead.
 * A batch starts inferring once its first page is read instead of all of it (every lane would sit
 * idle while a whole batch of items is read by index), and holds about two pages of prompts in memory
 * however large the batch and however long its prompts.
 *
 * Lanes take positions in order and ask for their item in the same tick, so once a lane asks for
 * the first item of page k no one will ask for page k − 1 again, and it can be let go.
 */
import type { Db } from '../../db/client';
import type { RunDatasetPlan } from '../../contracts/run';
import { getDatasetItemsPage, getItemsByIndices, type StoredItem } from '../../db/queries/datasets';

export const ITEM_PAGE_SIZE = 1000;

export class ItemPages {
  private readonly pages = new Map<number, Promise<Map<number, StoredItem>>>();

  constructor(
    private readonly db: Db,
    private readonly datasetId: string,
    private readonly plan: RunDatasetPlan,
    /** The batch's positions still to infer, ascending. */
    private readonly positions: readonly number[],
    private readonly pageSize = ITEM_PAGE_SIZE,
  ) {}

  /** The item at `positions[i]`, or undefined when the dataset has none there. */
  async item(i: number): Promise<StoredItem | undefined> {
    const k = Math.floor(i / this.pageSize);
    if (i % this.pageSize === 0) {
      this.pages.delete(k - 1);
      this.page(k + 1);
    }
    return (await this.page(k)).get(this.sampleIndex(this.positions[i]!));
  }

  private page(k: number): Promise<Map<number, StoredItem>> {
    let loading = this.pages.get(k);
    if (!loading) {
      loading = this.load(this.positions.slice(k * this.pageSize, (k + 1) * this.pageSize));
      // A page read ahead may fail before anyone waits for it; whoever does wait sees the error.
      loading.catch(() => {});
      this.pages.set(k, loading);
    }
    return loading;
  }

  private async load(positions: readonly number[]): Promise<Map<number, StoredItem>> {
    if (positions.length === 0) return new Map();
    let items: StoredItem[];
    if (this.plan.sampleIndices) {
      items = await getItemsByIndices(
        this.db,
        this.datasetId,
        positions.map((p) => this.sampleIndex(p)),
      );
    } else {
      // A formal run takes every item in order (index = position): one range, not a list of indices.
      const first = positions[0]!;
      items = await getDatasetItemsPage(
        this.db,
        this.datasetId,
        first - 1,
        positions[positions.length - 1]! - first + 1,
      );
    }
    return new Map(items.map((item) => [item.idx, item]));
  }

  private sampleIndex(position: number): number {
    return this.plan.sampleIndices ? this.plan.sampleIndices[position]! : position;
  }
}
