/**
 * Collects finished samples and writes them in groups, so a fast endpoint costs one transaction
 * per group rather than per sample. A crash loses at most the unwritten group, which the retried
 * batch redoes (stored samples are skipped, never redone).
 */
import type { Db } from '../../db/client';
import { storeSampleResults, type SampleResultRow } from '../../db/queries/sampleResults';

export class ResultBuffer {
  private pending: SampleResultRow[] = [];
  private flushing: Promise<void> = Promise.resolve();
  stored = 0;
  failed = 0;

  constructor(
    private readonly db: Db,
    private readonly runId: string,
    private readonly datasetId: string,
    private readonly maxRows: number,
  ) {}

  add(row: SampleResultRow): Promise<void> {
    this.pending.push(row);
    return this.pending.length >= this.maxRows ? this.flush() : Promise.resolve();
  }

  /** Writes serially: one transaction at a time keeps the dataset counters' updates from contending. */
  flush(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (rows.length === 0) return;
      const { stored, failed } = await storeSampleResults(this.db, this.runId, this.datasetId, rows);
      this.stored += stored;
      this.failed += failed;
    });
    return this.flushing;
  }
}
