/**
 * A formal run's wait for its API endpoint, before the first dataset: probed as the endpoint check
 * probes it (activities/inference/endpointCheck.ts), again and again with back-off, until the
 * endpoint answers or the run's wait is over. Ready means the endpoint lists the model to ask (or,
 * with no model named, lists one), as run_eval's health check has it; an endpoint whose list does
 * not say so is ready once one tiny completion comes back. A key the endpoint refuses, or an address
 * in a network the platform does not call, fails at once: waiting cannot change either.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { endpointSettingsOr, type ActivityDeps } from '../activityDeps';
import { DEFAULT_READY_WAIT } from '../../config/env';
import {
  ENDPOINT_CHECK_CALL_TIMEOUT_MS,
  ENDPOINT_CHECK_MAX_TOKENS,
  ENDPOINT_CHECK_PROMPT,
} from '../../contracts/endpointCheck';
import type { ApiMode } from '../../contracts/evaluation';
import { getRun } from '../../db/queries/runRecords';
import { appendRunLogs } from '../../db/queries/runLogs';
import { openSecret } from '../../db/secretBox';
import { ERROR_TYPES } from '../../temporal.config';
import { startHeartbeat } from '../batch/heartbeatTicker';
import { createEndpointClient } from './openaiClient';
import { createModelEndpoint } from './modelEndpoint';
import { classifyInferenceError, InferenceError, type InferenceErrorKind } from './inferenceErrors';
import type { EndpointTransport } from './nodeHttpFetch';

const FIRST_PAUSE_MS = 500;
const LONGEST_PAUSE_MS = 10_000;
/** Kinds of failure that no wait can cure. */
const FINAL_KINDS: readonly InferenceErrorKind[] = ['auth', 'denied'];

export interface EndpointTarget {
  endpoint: string;
  apiKey: string | null;
  onlineModelName: string | null;
  apiMode: ApiMode;
}

export type Probe = { ready: true; detail: string } | { ready: false; error: string; final: boolean };

export function createEndpointReadinessActivities({ db, logger, secretKey, endpoints: configured }: ActivityDeps) {
  const endpoints = endpointSettingsOr(configured);
  const { defaultSeconds, maxSeconds } = endpoints.readyWait ?? DEFAULT_READY_WAIT;
  return {
    /** Returns once the run's endpoint is ready; fails with EndpointNotReady when it is not within the run's wait. */
    async awaitEndpointReady({ runId }: { runId: string }): Promise<{ waitedMs: number }> {
      const ctx = Context.current();
      const run = await getRun(db, runId);
      const { config } = run;
      const asked = config.limits.readyTimeoutSeconds ?? defaultSeconds;
      const waitSeconds = Math.min(asked, maxSeconds);
      // Counted from the first attempt: a retry after a lost worker goes on with the same wait.
      const firstScheduled = ctx.info.scheduledTimestampMs;
      const deadline = firstScheduled + waitSeconds * 1000;
      const target: EndpointTarget = {
        endpoint: config.endpoint,
        apiKey: run.apiKeyCipher ? openSecret(secretKey, run.apiKeyCipher) : null,
        onlineModelName: config.onlineModelName,
        apiMode: config.apiMode,
      };
      const stopHeartbeat = startHeartbeat(ctx, () => 'waiting for the endpoint');
      try {
        let pause = FIRST_PAUSE_MS;
        let warned = false;
        for (;;) {
          const callTimeoutMs = Math.min(ENDPOINT_CHECK_CALL_TIMEOUT_MS, Math.max(1_000, deadline - Date.now()));
          const probe = await probeEndpoint(target, callTimeoutMs, endpoints);
          const waitedMs = Math.max(0, Date.now() - firstScheduled);
          if (probe.ready) {
            await appendRunLogs(db, [
              {
                runId,
                level: 'info',
                message: `endpoint ready after ${(waitedMs / 1000).toFixed(1)} s: ${probe.detail}`,
                dedupeKey: 'endpoint-ready',
              },
            ]);
            return { waitedMs };
          }
          if (probe.final)
            throw notReady(`endpoint not ready: ${probe.error} (not waited for: waiting cannot change it)`);
          const left = deadline - Date.now();
          if (left <= 0) throw notReady(`endpoint not ready after ${waitSeconds} s: ${probe.error}`);
          if (!warned) {
            warned = true;
            await appendRunLogs(db, [
              {
                runId,
                level: 'warn',
                message:
                  `endpoint not ready yet (${probe.error}); waiting up to ${waitSeconds} s before the first dataset` +
                  (asked > waitSeconds
                    ? ` (the run asked for ${asked} s; the platform waits at most ${maxSeconds} s)`
                    : ''),
                dedupeKey: 'endpoint-ready-wait',
              },
            ]);
            logger.info({ runId, error: probe.error }, 'waiting for the endpoint to be ready');
          }
          await ctx.sleep(Math.min(pause, left));
          pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
        }
      } finally {
        stopHeartbeat();
      }
    },
  };
}

function notReady(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ERROR_TYPES.endpointNotReady);
}

/** One look at the endpoint: its model list, then, when the list does not settle it, one tiny completion. */
export async function probeEndpoint(
  target: EndpointTarget,
  timeoutMs: number,
  transport: EndpointTransport,
): Promise<Probe> {
  const secrets = { timeoutMs, secrets: [target.apiKey] };
  const client = createEndpointClient({ baseURL: target.endpoint, apiKey: target.apiKey, timeoutMs, transport });
  const model = target.onlineModelName;
  let listError: string;
  try {
    const page = await client.models.list();
    const listed = (page?.data ?? []).flatMap((m) => (typeof m?.id === 'string' && m.id !== '' ? [m.id] : []));
    if (model && listed.includes(model)) return { ready: true, detail: `${model} is listed` };
    if (!model && listed.length > 0) return { ready: true, detail: `it lists ${listed[0]}, which the run asks` };
    if (!model) return { ready: false, error: 'the endpoint lists no models yet', final: false };
    listError = `${model} is not among the ${listed.length} model(s) listed`;
  } catch (error) {
    const c = classifyInferenceError(error, secrets);
    const reason =
      c.kind === 'connection' || c.kind === 'timeout' || c.kind === 'denied'
        ? `the endpoint could not be reached: ${c.message}`
        : `listing its models failed: ${c.message}`;
    // Unreachable, refused or still starting (5xx, 429): the completion would fare no better.
    if (['connection', 'timeout', 'server', 'rate_limited', 'aborted'].includes(c.kind) || FINAL_KINDS.includes(c.kind))
      return { ready: false, error: reason, final: FINAL_KINDS.includes(c.kind) };
    // It answered but has no model list (a 404 from a server without the route): the completion tells.
    if (!model) return { ready: false, error: `${reason}, and no online model name is set`, final: false };
    listError = reason;
  }

  const endpoint = createModelEndpoint({
    endpoint: target.endpoint,
    apiKey: target.apiKey,
    onlineModelName: model,
    apiMode: target.apiMode,
    requestTimeoutMs: timeoutMs,
    transport,
  });
  try {
    await endpoint.complete(
      ENDPOINT_CHECK_PROMPT,
      { maxTokens: ENDPOINT_CHECK_MAX_TOKENS, temperature: 0, topP: 1 },
      new AbortController().signal,
    );
    return { ready: true, detail: `${listError}, but ${model} answered a completion` };
  } catch (error) {
    const c = error instanceof InferenceError ? error : classifyInferenceError(error, secrets);
    return {
      ready: false,
      error: `${listError}, and a ${target.apiMode} completion of ${model} failed: ${c.message}`,
      final: FINAL_KINDS.includes(c.kind),
    };
  }
}

export type EndpointReadinessActivities = ReturnType<typeof createEndpointReadinessActivities>;
