/**
 * A run's traffic to its model endpoint, in this worker process: the adaptive gate (AIMD limit,
 * aimdLimit.ts) that its batches share one after another, and what it reports. The gate outlives a
 * batch, so the next batch of the run starts where the last one left the limit; a batch that lands
 * on another process starts from the limit last recorded in `run_traffic`.
 *
 * Reports go to `run_traffic` (the run view) every couple of seconds while a batch works and when
 * it ends, and a line goes to the run's log when the limit has halved or doubled since the last one.
 */
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { appendRunLogs } from '../../db/queries/runLogs';
import { readRunTraffic, reportRunTraffic } from '../../db/queries/runTraffic';
import { AimdLimit } from './aimdLimit';
import { AdaptiveGate } from './adaptiveGate';

const REPORT_EVERY_MS = 2_000;
/** A process forgets a run's gate this long after its last batch. */
const FORGET_AFTER_MS = 15 * 60_000;

export class RunTraffic {
  readonly gate: AdaptiveGate;
  budgetWaitMs = 0;
  private reportedRateLimited = 0;
  private reportedWaitMs = 0;
  private reportedLimit = -1;
  lastUsed = Date.now();

  constructor(
    readonly runId: string,
    readonly maxConcurrency: number,
    initialLimit: number | undefined,
  ) {
    this.gate = new AdaptiveGate(new AimdLimit({ ceiling: maxConcurrency, initial: initialLimit }));
  }

  /** For the batch's heartbeat (seen in the Temporal UI's pending activity). */
  snapshot(): { concurrencyLimit: number; rateLimited: number } {
    return { concurrencyLimit: this.gate.limit.limit, rateLimited: this.gate.limit.rateLimited };
  }

  /** Writes what changed since the last report, and a log line for a notable change of the limit. */
  async report(db: Db, datasetId: string): Promise<void> {
    const limit = this.gate.limit;
    const rateLimited = limit.rateLimited - this.reportedRateLimited;
    const waited = this.budgetWaitMs - this.reportedWaitMs;
    if (rateLimited === 0 && waited < 1 && limit.limit === this.reportedLimit) return;
    this.reportedRateLimited += rateLimited;
    this.reportedWaitMs += waited;
    this.reportedLimit = limit.limit;
    await reportRunTraffic(
      db,
      this.runId,
      { concurrencyLimit: limit.limit, maxConcurrency: this.maxConcurrency },
      { rateLimited, budgetWaitMs: waited },
    );
    const change = limit.takeNotableChange();
    if (change) {
      await appendRunLogs(db, [
        {
          runId: this.runId,
          datasetId,
          level: change.to < change.from ? 'warn' : 'info',
          message:
            `endpoint concurrency ${change.from} → ${change.to} of ${this.maxConcurrency}` +
            (change.to < change.from ? ' (the endpoint answers 429: too many requests)' : ' (the endpoint keeps up)') +
            `; ${change.rateLimited} 429 answer(s) so far in this worker`,
          dedupeKey: `traffic:${datasetId}:${Date.now()}:${change.from}:${change.to}`,
        },
      ]);
    }
  }

  /** Reports every couple of seconds until the returned function is called (which reports once more). */
  reportWhileWorking(db: Db, datasetId: string, logger: Logger): () => Promise<void> {
    const report = () =>
      this.report(db, datasetId).catch((error: unknown) =>
        logger.warn({ err: error, runId: this.runId }, 'could not record the run endpoint traffic'),
      );
    const timer = setInterval(() => void report(), REPORT_EVERY_MS);
    return async () => {
      clearInterval(timer);
      this.lastUsed = Date.now();
      await report();
    };
  }
}

const runs = new Map<string, RunTraffic>();

/** The run's traffic in this process, created (from the recorded limit) on its first batch here. */
export async function runTrafficFor(db: Db, runId: string, maxConcurrency: number): Promise<RunTraffic> {
  const now = Date.now();
  for (const [id, t] of runs) if (now - t.lastUsed > FORGET_AFTER_MS && t.gate.active === 0) runs.delete(id);
  const known = runs.get(runId);
  if (known && known.maxConcurrency === maxConcurrency) {
    known.lastUsed = now;
    return known;
  }
  const recorded = await readRunTraffic(db, runId);
  const traffic = new RunTraffic(runId, maxConcurrency, recorded?.concurrencyLimit);
  runs.set(runId, traffic);
  return traffic;
}
