/**
 * Starts the workflows of launched runs that nobody started. A launch commits its run (queued, quota
 * taken) and then starts the workflow; an API process killed between the two, or a start whose
 * failure could not be written back, leaves a run that would stay queued for ever, holding its slot.
 * Each API process sweeps now and then for runs queued longer than any launch takes and starts their
 * workflow. The workflow ID is the run's, so a run whose workflow exists (waiting for a run worker, or
 * started by a request still answering) is told so by Temporal and left alone; API processes sweeping
 * at once cannot start a run twice.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { queuedRunsLaunchedBetween, type QueuedRunCursor } from '../db/queries/runLaunch';
import { startRunWorkflow } from './temporalGateway';

export interface LaunchReconciler {
  /** One sweep now; resolves with the IDs of the runs whose workflow it started. */
  sweep(): Promise<string[]>;
  stop(): void;
}

export interface LaunchReconcilerOptions {
  db: Db;
  temporal: Client;
  logger: Logger;
  intervalMs: number;
  /** How long a run may stay queued before its workflow is checked: well past a launch's own start. */
  minAgeMs: number;
  /**
   * Runs queued longer are left alone (default a day, Temporal's shortest retention): an ended
   * workflow refuses a second start only while the server still keeps it, and a run whose
   * workflow an operator terminated before it began must not come back once that is forgotten.
   */
  maxAgeMs?: number;
  /**
   * Runs looked at per sweep, oldest first; the next sweep goes on after the last one looked at (and
   * starts over once it reaches the end), so a long backlog of runs waiting for workers neither costs
   * one start per run per sweep nor hides an orphan behind it.
   */
  batch?: number;
  now?: () => Date;
}

export function startLaunchReconciler(o: LaunchReconcilerOptions): LaunchReconciler {
  const now = o.now ?? (() => new Date());
  const batch = o.batch ?? 100;
  let sweeping: Promise<string[]> | undefined;
  let cursor: QueuedRunCursor | undefined;
  const sweepOnce = async (): Promise<string[]> => {
    const started: string[] = [];
    try {
      const at = now().getTime();
      const queued = await queuedRunsLaunchedBetween(
        o.db,
        new Date(at - (o.maxAgeMs ?? 86_400_000)),
        new Date(at - o.minAgeMs),
        batch,
        cursor,
      );
      cursor = queued.length === batch ? queued.at(-1)?.cursor : undefined;
      for (const { run } of queued) {
        try {
          const { alreadyStarted } = await startRunWorkflow(o.temporal, run);
          if (alreadyStarted) continue;
          started.push(run.runId);
          o.logger.warn(
            { runId: run.runId, version: run.version },
            'started the workflow of a run left queued by an interrupted launch',
          );
        } catch (error) {
          o.logger.warn(
            { err: error, runId: run.runId },
            'could not start the workflow of a run left queued; will try again',
          );
        }
      }
    } catch (error) {
      o.logger.warn({ err: error }, 'launch reconciliation failed; will try again');
    }
    return started;
  };
  // One sweep at a time: a slow one (Temporal unreachable) must not pile up behind the timer.
  const sweep = (): Promise<string[]> => (sweeping ??= sweepOnce().finally(() => (sweeping = undefined)));
  void sweep();
  const timer = setInterval(() => void sweep(), o.intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
