/**
 * The one skeleton of a batch activity (inferBatch, inferPerturbedBatch, judgeBatch,
 * scoreCodeBatch): a batch is the unit Temporal retries, its writes are idempotent and a retry
 * skips what an earlier attempt stored, so a crash costs at most the units in flight. The skeleton
 * holds what every batch does around its work:
 *
 * - heartbeats with progress, and a stop (the activity's cancellation) aborts the batch's signal,
 *   which ends its requests and waits at once (heartbeatingActivity.ts);
 * - lanes share the work (lanePool.ts); a lane that hits a real fault aborts the others, while a
 *   lane cut short by a stop is not a fault;
 * - what finished is flushed before the batch ends, whether it completed, faulted or was stopped,
 *   so the retry has less to redo and a stopped dataset's counts include it;
 * - a faulted batch then fails with the first fault; otherwise it reports (logs, its result), and
 *   a stopped one ends cancelled after reporting.
 *
 * Units left unstored by a stop or a fault are simply not written: the next attempt does them.
 */
import { Context } from '@temporalio/activity';
import { runHeartbeating } from './heartbeatingActivity';
import { runLanes } from './lanePool';

export interface Batch {
  /** Aborted on a stop or a lane's fault: lanes take no more units and in-flight calls end. */
  readonly signal: AbortSignal;
  /** Runs `count` lanes; resolves when all have ended. May be called once per page of units. */
  lanes(count: number, lane: (signal: AbortSignal) => Promise<void>): Promise<void>;
}

export interface BatchSpec<R> {
  /** The heartbeat's details, read at each beat. */
  heartbeat: () => unknown;
  /** The batch's units, on lanes or in order; a throw is a fault, like a lane's. */
  work: (batch: Batch) => Promise<void>;
  /** Stores what finished and is still held in memory. */
  flush?: () => Promise<void>;
  /** After the flush, when no lane faulted: logs and the activity's result. */
  report: () => Promise<R>;
}

export function runBatch<R>({ heartbeat, work, flush, report }: BatchSpec<R>): Promise<R> {
  const cancelled = Context.current().cancellationSignal;
  return runHeartbeating({
    heartbeat,
    work: async (abort) => {
      let fault: unknown = null;
      const onFault = (error: unknown) => {
        if (cancelled.aborted) return;
        fault ??= error;
        abort.abort();
      };
      const batch: Batch = {
        signal: abort.signal,
        lanes: (count, lane) => runLanes(count, () => lane(abort.signal), onFault),
      };
      try {
        await work(batch);
      } catch (error) {
        onFault(error);
      }
      await flush?.();
      if (fault) throw fault;
      return report();
    },
  });
}
