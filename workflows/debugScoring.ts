/**
 * The scoring debug call, for the API: one activity on the judge queue asks the judge, so the API
 * process never calls user-given judge URLs. Short-lived and stateless; the API bounds the whole
 * call, and nothing is retried past the call's deadline, so a worker that turns up late does not
 * ask a judge on behalf of a caller who has had their answer.
 */
import { proxyActivities } from '@temporalio/workflow';
import { ACTIVITY_OPTIONS } from '../temporal.config';
import {
  DEBUG_ANSWER_GRACE_MS,
  DEBUG_TIMEOUT_MS,
  type ScoringDebugInput,
  type ScoringDebugResult,
} from '../contracts/scoringDebug';
import type { DebugScoringActivities } from '../activities/judging/debugScoring';

/**
 * Longer than the API waits: the API gives up first, asks the workflow which worker was missing or
 * slow, and terminates it; this bound only ends a call whose API died waiting.
 */
const ACTIVITY_BOUND_MS = DEBUG_TIMEOUT_MS + DEBUG_ANSWER_GRACE_MS + 10_000;

const judging = proxyActivities<DebugScoringActivities>({
  ...ACTIVITY_OPTIONS.judge,
  startToCloseTimeout: ACTIVITY_BOUND_MS,
  scheduleToCloseTimeout: ACTIVITY_BOUND_MS,
});

export async function debugScoring(input: ScoringDebugInput): Promise<ScoringDebugResult> {
  return judging.scoreDebugSamples(input);
}
