/**
 * The endpoint check, for the API: one activity on the inference queue calls the endpoint, so the
 * API process never calls a user's URL. Short-lived and stateless; not retried, so a worker that
 * turns up after the API gave up calls nobody's endpoint for nobody.
 */
import { proxyActivities } from '@temporalio/workflow';
import { ACTIVITY_OPTIONS } from '../temporal.config';
import { ENDPOINT_CHECK_WAIT_MS, type EndpointCheckInput, type EndpointCheckView } from '../contracts/endpointCheck';
import type { EndpointCheckActivities } from '../activities/inference/endpointCheck';

const checking = proxyActivities<EndpointCheckActivities>({
  ...ACTIVITY_OPTIONS.inference,
  startToCloseTimeout: ENDPOINT_CHECK_WAIT_MS,
  scheduleToCloseTimeout: ENDPOINT_CHECK_WAIT_MS,
  // Two calls of at most ENDPOINT_CHECK_CALL_TIMEOUT_MS each, no heartbeats: the bound is the whole check.
  heartbeatTimeout: ENDPOINT_CHECK_WAIT_MS,
  retry: { maximumAttempts: 1 },
});

export async function endpointCheck(input: EndpointCheckInput): Promise<EndpointCheckView> {
  return checking.checkEndpoint(input);
}
