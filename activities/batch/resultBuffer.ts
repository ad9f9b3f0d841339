/**
 * Collects finished samples and writes them in groups, so a fast endpoint costs one transaction
 * per group rather than per sample. A group is also written once its first row has waited
 * `maxWaitMs`: a slow endpoint fills a group in minutes, and until a row is written the run's
 * progress does not show it and a crash of the worker would lose it. A crash loses at most the
 * unwritten rows, which the retried batch redoes (stored samples are skipped, never redone). What a
 * group is written with is the caller's: plain results, a code dataset's samples with their
 * completions, the robustness pass's perturbed answers, a judge's judgements.
 */
export type StoreRows<Row> = (rows: Row[]) => Promise<{ stored: number; failed: number }>;

export const DEFAULT_MAX_WAIT_MS = 1000;

export class ResultBuffer<Row> {
  private pending: Row[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  stored = 0;
  failed = 0;

  constructor(
    private readonly store: StoreRows<Row>,
    private readonly maxRows: number,
    private readonly maxWaitMs = DEFAULT_MAX_WAIT_MS,
  ) {}

  /**
   * The write when this row filled a group, for the lane to wait for (so lanes cannot run ahead of
   * the database); undefined otherwise, so the lane goes on without an await.
   */
  add(row: Row): Promise<void> | undefined {
    this.pending.push(row);
    if (this.pending.length >= this.maxRows) return this.flush();
    // A write that fails here stays in the chain: the next flush the batch awaits rejects with it.
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.maxWaitMs).unref();
    return undefined;
  }

  /** Writes serially: one transaction at a time keeps the dataset counters' updates from contending. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
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
