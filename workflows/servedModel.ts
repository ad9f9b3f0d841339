/**
 * The container a private run's model is served from. The upload is checked, the run waits its turn
 * for container units (priority, then age), the container is started and awaited, the datasets are
 * evaluated against it, and whatever happens the container is removed and the units released.
 */
import { CancellationScope, isCancellation, log } from '@temporalio/workflow';
import type { ServingEndpoint } from '../contracts/run';
import { containerHost, containers } from './activityProxies';
import { withContainerLease } from './containerLease';

/** Evaluates the datasets; gets the endpoint to use for each, which may change if the container is restarted. */
export type EvaluateWithServer = (endpointForNextDataset: () => Promise<ServingEndpoint>) => Promise<void>;

export async function withServedModel(runId: string, evaluate: EvaluateWithServer): Promise<void> {
  await withContainerLease(
    runId,
    async () => {
      let endpoint: ServingEndpoint | null = null;
      try {
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
          if (!endpoint) return;
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
        });
      }
    },
    // The upload is checked before the run queues for units it may never be able to use.
    () => containers.checkRunUpload({ runId }),
  );
}
