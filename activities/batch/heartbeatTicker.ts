/**
 * Heartbeats on a timer rather than per unit of work: an activity whose units take minutes (a
 * sandbox, a container job) still beats every interval, and one whose units take microseconds does
 * not call into the SDK for each. The details are read at each beat, so they show the progress of
 * the moment.
 */
import type { Context } from '@temporalio/activity';
import { HEARTBEAT_INTERVAL_MS } from '../../temporal.config';

/** Starts beating; the returned function stops it. */
export function startHeartbeat(ctx: Context, details: () => unknown, everyMs = HEARTBEAT_INTERVAL_MS): () => void {
  const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
  return () => clearInterval(timer);
}
