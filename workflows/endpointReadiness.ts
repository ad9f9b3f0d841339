/**
 * Before a formal run's first dataset, its API endpoint must be ready (activities/inference/
 * endpointReadiness.ts keeps the wait and the probes). An endpoint that never is ends the run with
 * the reason, before it inferred anything.
 */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { ERROR_TYPES } from '../temporal.config';
import { readiness } from './activityProxies';

/** Null once the endpoint is ready; otherwise why it is not, as the run's reason. */
export async function endpointNotReady(runId: string): Promise<string | null> {
  try {
    await readiness.awaitEndpointReady({ runId });
    return null;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === ERROR_TYPES.endpointNotReady) return cause.message;
    throw err;
  }
}
