/**
 * The debug call's judge calls, on a judge worker: the API's debugScoring workflow hands over a
 * handful of samples and a judge metric whose key is the id of a sealed row, opened here as a run's
 * judge batch opens it, so no key travels through Temporal. Calls still in flight at the call's
 * deadline are abandoned and their samples say so. Nothing is stored.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import { DEBUG_TIMEOUT_MS, type ScoringDebugInput, type ScoringDebugResult } from '../../contracts/scoringDebug';
import { judgeTraces } from '../../scoring/judge/debugTraces';
import { createJudgeClient } from './judgeClient';
import { resolveJudgeTarget } from './resolveJudge';
import { ERROR_TYPES } from '../../temporal.config';
import { startHeartbeat } from '../batch/heartbeatTicker';

export function createDebugScoringActivities({
  db,
  secretKey,
  judge: platformJudge,
  endpoints: configured,
}: ActivityDeps) {
  const endpoints = endpointSettingsOr(configured);
  return {
    async scoreDebugSamples({ metric, limits, samples, deadline }: ScoringDebugInput): Promise<ScoringDebugResult> {
      const ctx = Context.current();
      let target;
      try {
        target = await resolveJudgeTarget(db, secretKey, metric, platformJudge, endpoints);
      } catch (error) {
        throw ApplicationFailure.nonRetryable((error as Error).message, ERROR_TYPES.invalidConfiguration);
      }
      const expired = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
      const signal = AbortSignal.any([expired, ctx.cancellationSignal]);
      const client = target ? createJudgeClient({ ...target, maxRetries: limits.maxJudgingRetryPerQ, signal }) : null;
      const stopHeartbeat = startHeartbeat(ctx, () => undefined);
      try {
        const traces = await judgeTraces(metric, client, samples, limits.maxJudgingConcurrency, (trace) =>
          expired.aborted && trace.error
            ? {
                ...trace,
                error: `the judge did not answer within the debug call's limit of ${DEBUG_TIMEOUT_MS / 1000} s`,
              }
            : trace,
        );
        return { traces };
      } finally {
        stopHeartbeat();
      }
    },
  };
}

export type DebugScoringActivities = ReturnType<typeof createDebugScoringActivities>;
