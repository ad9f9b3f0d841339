/**
 * ResultBuffer's counterpart for pass_at_k samples: the same grouped, serial writes, through
 * storeCodeSamples so each sample's n completions are written with it, in the insert that makes it
 * exist (never a sample without its completions, whatever crashes in between).
 */
import type { Db } from '../../db/client';
import { storeCodeSamples, type CodeSampleRow } from './codeSamples';

export class CodeResultBuffer {
  private pending: CodeSampleRow[] = [];
  private flushing: Promise<void> = Promise.resolve();
  stored = 0;
  failed = 0;

  constructor(
    private readonly db: Db,
    private readonly runId: string,
    private readonly datasetId: string,
    private readonly maxRows: number,
  ) {}

  add(row: CodeSampleRow): Promise<void> {
    this.pending.push(row);
    return this.pending.length >= this.maxRows ? this.flush() : Promise.resolve();
  }

  flush(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (rows.length === 0) return;
      const { stored, failed } = await storeCodeSamples(this.db, this.runId, this.datasetId, rows);
      this.stored += stored;
      this.failed += failed;
    });
    return this.flushing;
  }
}
