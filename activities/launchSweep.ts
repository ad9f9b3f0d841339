/**
 * The launch sweep's one activity: starts the workflows of runs that a launch committed but never
 * started (the API process died between its commit and the start, or a start whose failure could not
 * be written back). The workflow ID is the run's, so a run whose workflow exists (waiting for a run
 * worker, or started by a request still answering) is told so by Temporal and left alone; a sweep
 * racing a launch, or another sweep, cannot start a run twice.
 */
import type { ActivityDeps } from './activityDeps';
import { LAUNCH_SWEEP } from '../temporal.config';
import { queuedRunsLaunchedBetween, type QueuedRunCursor } from '../db/queries/runLaunch';
import { startRunWorkflow } from '../temporalClient/runWorkflowStart';

export interface LaunchSweepInput {
  /** Where the previous sweep stopped; absent or null: from the oldest run in the window. */
  after?: QueuedRunCursor | null;
  /** The window and the page, LAUNCH_SWEEP's unless given (tests narrow them). */
  minAgeMs?: number;
  maxAgeMs?: number;
  pageSize?: number;
  /** The moment the window is measured back from (ISO 8601); absent: when the activity runs. */
  at?: string;
}

export interface LaunchSweepResult {
  /** Runs whose workflow this sweep started. */
  started: string[];
  /** Where the next sweep goes on; null once the sweep reached the end of the window. */
  next: QueuedRunCursor | null;
}

export function createLaunchSweepActivities({
  db,
  logger,
  temporal,
}: Pick<ActivityDeps, 'db' | 'logger' | 'temporal'>) {
  return {
    async startOrphanedRuns(input: LaunchSweepInput): Promise<LaunchSweepResult> {
      if (!temporal) throw new Error('the launch sweep needs a Temporal client in the worker (ActivityDeps.temporal)');
      const pageSize = input.pageSize ?? LAUNCH_SWEEP.pageSize;
      const at = input.at ? Date.parse(input.at) : Date.now();
      const queued = await queuedRunsLaunchedBetween(
        db,
        new Date(at - (input.maxAgeMs ?? LAUNCH_SWEEP.maxAgeMs)),
        new Date(at - (input.minAgeMs ?? LAUNCH_SWEEP.minAgeMs)),
        pageSize,
        input.after ?? undefined,
      );
      const started: string[] = [];
      for (const { run } of queued) {
        try {
          const { alreadyStarted } = await startRunWorkflow(temporal, run);
          if (alreadyStarted) continue;
          started.push(run.runId);
          logger.warn(
            { runId: run.runId, version: run.version },
            'started the workflow of a run left queued by an interrupted launch',
          );
        } catch (error) {
          // One run's refusal (its search attributes, a server hiccup) must not hold up the others.
          logger.warn(
            { err: error, runId: run.runId },
            'could not start the workflow of a run left queued; will try again',
          );
        }
      }
      // A short page means the window's end was reached: the next sweep starts over from the oldest.
      return { started, next: queued.length === pageSize ? (queued.at(-1)?.cursor ?? null) : null };
    },
  };
}

export type LaunchSweepActivities = ReturnType<typeof createLaunchSweepActivities>;
