/**
 * The container-unit queue as a private run's workflow sees it: ask for units of the run's GPU
 * type, ask again until they are granted (priority, then age, decides), and give them back when
 * the container is gone — nudging the runs now at the head of the queue.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import { getRun } from '../../db/queries/runRecords';
import { appendRunLogs } from '../../db/queries/runLogs';
import { releaseLease, requestLease, tryGrantLease } from '../../db/queries/containerLeases';
import { containerUnitsFreedSignal } from '../../contracts/workflow';
import { ERROR_TYPES, workflowIds } from '../../temporal.config';
import { requireServing } from './servingFailed';

export interface LeaseState {
  granted: boolean;
  /** Waiting runs ahead of this one. */
  ahead: number;
}

export function createLeaseActivities({ db, logger, serving }: ActivityDeps) {
  const servingPlan = async (runId: string) => {
    const run = await getRun(db, runId);
    const plan = run.config.serving;
    if (!plan)
      throw ApplicationFailure.nonRetryable(
        `run ${runId} is not a private deployment`,
        ERROR_TYPES.invalidConfiguration,
      );
    return plan;
  };

  return {
    async requestContainerLease({ runId }: { runId: string }): Promise<void> {
      const plan = await servingPlan(runId);
      await requestLease(db, { runId, gpuType: plan.gpuType, units: plan.gpuCount, priority: plan.priority });
    },

    async tryGrantContainerLease({ runId }: { runId: string }): Promise<LeaseState> {
      const plan = await servingPlan(runId);
      const type = requireServing(serving, 'container settings').containers.gpuTypes.find((t) => t.id === plan.gpuType);
      if (!type) {
        throw ApplicationFailure.nonRetryable(
          `GPU type ${plan.gpuType} is no longer offered by the container hosts; edit the evaluation and launch again`,
          ERROR_TYPES.servingFailed,
        );
      }
      if (plan.gpuCount > type.total) {
        throw ApplicationFailure.nonRetryable(
          `the run asks for ${plan.gpuCount} ${type.label} unit(s) but the hosts have ${type.total}`,
          ERROR_TYPES.servingFailed,
        );
      }
      const lease = await tryGrantLease(db, runId, type.total);
      await appendRunLogs(db, [
        lease.granted
          ? {
              runId,
              level: 'info',
              message: `container units granted: ${plan.gpuCount} × ${type.label} (priority ${plan.priority})`,
              dedupeKey: 'lease-granted',
            }
          : {
              runId,
              level: 'info',
              message: `waiting for ${plan.gpuCount} × ${type.label} (priority ${plan.priority}): ${lease.ahead} run(s) ahead`,
              // One line per change of place, not one per poll.
              dedupeKey: `lease-waiting:${lease.ahead}`,
            },
      ]);
      return lease;
    },

    async releaseContainerLease({ runId }: { runId: string }): Promise<void> {
      const plan = await servingPlan(runId);
      const capacity = serving?.containers.gpuTypes.find((t) => t.id === plan.gpuType)?.total;
      const { nextWaiting } = await releaseLease(db, runId, capacity);
      const temporal = serving?.temporal;
      if (!temporal) return;
      // A nudge only shortens the wait: the waiting run polls anyway, so a lost signal costs time, not correctness.
      await Promise.all(
        nextWaiting.map((next) =>
          temporal.workflow
            .getHandle(workflowIds.run(next))
            .signal(containerUnitsFreedSignal)
            .catch((error: unknown) => logger.debug({ err: error, runId: next }, 'could not nudge a waiting run')),
        ),
      );
    },
  };
}

export type LeaseActivities = ReturnType<typeof createLeaseActivities>;
