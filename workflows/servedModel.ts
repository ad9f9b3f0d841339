/**
 * The container a private run's model is served from. The upload is checked, the run waits its turn
 * for container units (priority, then age), the container is started and awaited, the datasets are
 * evaluated against it, and whatever happens the container is removed and the units released.
 */
import { CancellationScope, condition, isCancellation, log, setHandler } from '@temporalio/workflow';
import { containerUnitsFreedSignal } from '../contracts/workflow';
import type { ServingEndpoint } from '../contracts/run';
import { LEASE_POLL } from '../temporal.config';
import { containerHost, containers, leases } from './activityProxies';

/** Evaluates the datasets; gets the endpoint to use for each, which may change if the container is restarted. */
export type EvaluateWithServer = (endpointForNextDataset: () => Promise<ServingEndpoint>) => Promise<void>;

export async function withServedModel(runId: string, evaluate: EvaluateWithServer): Promise<void> {
  let nudged = false;
  setHandler(containerUnitsFreedSignal, () => {
    nudged = true;
  });

  await containers.checkRunUpload({ runId });
  let endpoint: ServingEndpoint | null = null;
  try {
    await leases.requestContainerLease({ runId });
    for (let delay: number = LEASE_POLL.initialMs; ;) {
      if ((await leases.tryGrantContainerLease({ runId })).granted) break;
      nudged = false;
      // A nudge means units were freed: ask at once and start the back-off over.
      delay = (await condition(() => nudged, delay)) ? LEASE_POLL.initialMs : Math.min(delay * 2, LEASE_POLL.maxMs);
    }

    endpoint = await containers.startServingContainer({ runId });
    await containerHost(endpoint.hostQueue).work.waitServingHealthy({ runId, endpoint });

    let restarts = 0;
    let first = true;
    await evaluate(async () => {
      if (first) {
        first = false;
        return endpoint!;
      }
      const ensured = await containerHost(endpoint!.hostQueue).work.ensureServing({
        runId,
        endpoint: endpoint!,
        restarts,
      });
      endpoint = ensured.endpoint;
      restarts = ensured.restarts;
      return endpoint;
    });
  } finally {
    await CancellationScope.nonCancellable(async () => {
      if (endpoint) {
        try {
          await containerHost(endpoint.hostQueue).cleanup.removeServingContainer({
            runId,
            containerId: endpoint.containerId,
          });
        } catch (err) {
          if (isCancellation(err)) throw err;
          // Its host is gone: the run still ends, and that host's reaper removes the container when it is back.
          log.warn('could not remove the model container; its host will reap it', {
            runId,
            containerId: endpoint.containerId,
          });
        }
      }
      await leases.releaseContainerLease({ runId });
    });
  }
}
