/**
 * A private run's turn for container units: the run asks for its units (GPU type and count, at its
 * priority), waits until it is granted them (priority, then age; polling with back-off, and at
 * once when a release nudges it), works, and whatever happens releases them. A model server and
 * a multimodal run's run.sh jobs both hold their GPUs this way.
 */
import { CancellationScope, condition, setHandler } from '@temporalio/workflow';
import { containerUnitsFreedSignal } from '../contracts/workflow';
import { LEASE_POLL } from '../temporal.config';
import { leases } from './activityProxies';

/** `beforeRequest` runs after the nudge handler is set and before the units are asked for. */
export async function withContainerLease<T>(
  runId: string,
  work: () => Promise<T>,
  beforeRequest: () => Promise<void> = async () => {},
): Promise<T> {
  let nudged = false;
  setHandler(containerUnitsFreedSignal, () => {
    nudged = true;
  });
  await beforeRequest();
  try {
    await leases.requestContainerLease({ runId });
    for (let delay: number = LEASE_POLL.initialMs; ;) {
      if ((await leases.tryGrantContainerLease({ runId })).granted) break;
      nudged = false;
      // A nudge means units were freed: ask at once and start the back-off over.
      delay = (await condition(() => nudged, delay)) ? LEASE_POLL.initialMs : Math.min(delay * 2, LEASE_POLL.maxMs);
    }
    return await work();
  } finally {
    await CancellationScope.nonCancellable(() => leases.releaseContainerLease({ runId }));
  }
}
