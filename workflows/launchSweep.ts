/**
 * One sweep for launched runs whose workflow never started, run by the deployment's launch-sweep
 * Schedule (temporal.config.ts LAUNCH_SWEEP) once a minute. The sweep pages through the queued runs
 * oldest first; where the last page ended is this workflow's result, which the Schedule hands to the
 * next sweep as its last completion result, so a long backlog of runs waiting for workers is walked
 * a page per sweep instead of hiding an orphan behind it. A failed sweep leaves the previous result
 * in place; the worst a lost cursor costs is one walk from the oldest run again.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { LAUNCH_SWEEP } from '../temporal.config';
import type { LaunchSweepActivities, LaunchSweepInput, LaunchSweepResult } from '../activities/launchSweep';

const sweep = proxyActivities<LaunchSweepActivities>(LAUNCH_SWEEP.activity);

/** `input.after`, when given (null included), wins over the previous sweep's cursor. */
export async function launchSweep(input: LaunchSweepInput = {}): Promise<LaunchSweepResult> {
  const previous = workflowInfo().lastResult as LaunchSweepResult | undefined;
  return sweep.startOrphanedRuns({
    ...input,
    after: input.after !== undefined ? input.after : (previous?.next ?? null),
  });
}
