/**
 * The part of every long activity that is not its work: an abort signal that follows the
 * activity's cancellation (a stopped run), a heartbeat while it works, and one way of ending when
 * stopped. Batches run on it (batchActivity.ts), and so can an activity that is one long item, such
 * as a container job that heartbeats while its image runs.
 *
 * The work gets the abort controller rather than only its signal: a batch aborts it itself when a
 * lane faults, so the other lanes stop too. There is one listener on the cancellation signal per
 * activity, not one per request: a signal combined per request stays alive until a full GC.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { startHeartbeat } from './heartbeatTicker';

export interface HeartbeatingWork<T> {
  /** The heartbeat's details, read at each beat. */
  heartbeat: () => unknown;
  /** Ends promptly once `abort.signal` aborts. */
  work: (abort: AbortController) => Promise<T>;
}

/**
 * Runs the work while heartbeating. An activity whose run was stopped ends cancelled, whatever its
 * work did: a failure that a stop caused (a request or container cut short) is not the work's.
 */
export async function runHeartbeating<T>({ heartbeat, work }: HeartbeatingWork<T>): Promise<T> {
  const ctx = Context.current();
  const abort = new AbortController();
  const onCancel = () => abort.abort();
  ctx.cancellationSignal.addEventListener('abort', onCancel);
  const stopHeartbeat = startHeartbeat(ctx, heartbeat);
  let result: T;
  try {
    result = await work(abort);
  } catch (error) {
    if (ctx.cancellationSignal.aborted) throw stopped();
    throw error;
  } finally {
    stopHeartbeat();
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
  }
  if (ctx.cancellationSignal.aborted) throw stopped();
  return result;
}

function stopped(): CancelledFailure {
  return new CancelledFailure('run stopped');
}
