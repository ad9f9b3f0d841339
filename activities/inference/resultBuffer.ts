/**
 * Collects finished samples and writes them in groups, so a fast endpoint costs one transaction
 * per group rather than per sample. A crash loses at most the unwritten group, which the retried
 * batch redoes (stored samples are skipped, never redone). What a group is written with is the
 * caller's: plain results, or a code dataset's samples with their completions.
 */
export type StoreRows<Row> = (rows: Row[]) => Promise<{ stored: number; failed: number }>;

export class ResultBuffer<Row> {
  private pending: Row[] = [];
  private flushing: Promise<void> = Promise.resolve();
  stored = 0;
  failed = 0;

  constructor(
    private readonly store: StoreRows<Row>,
    private readonly maxRows: number,
  ) {}

  add(row: Row): Promise<void> {
    this.pending.push(row);
    return this.pending.length >= this.maxRows ? this.flush() : Promise.resolve();
  }

  /** Writes serially: one transaction at a time keeps the dataset counters' updates from contending. */
  flush(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (rows.length === 0) return;
      const { stored, failed } = await this.store(rows);
      this.stored += stored;
      this.failed += failed;
    });
    return this.flushing;
  }
}
