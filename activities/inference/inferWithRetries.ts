/**
 * One sample's inference: ask the endpoint, retry what is worth retrying with back-off, and report
 * the outcome as a value. Endpoint faults never throw, because a failed sample is a result to
 * record (with its reason), not a reason to fail the batch.
 */
import type { InferenceParams } from '../../contracts/evaluation';
import type { ModelEndpoint, ModelOutput, Prompt } from './modelEndpoint';
import { abortedError, classifyInferenceError, type ClassifiedError, type InferenceErrorKind } from './inferenceErrors';
import { retryWithBackoff, type AttemptOutcome, type BackoffOptions } from './retryWithBackoff';

export type InferenceOutcome =
  | {
      ok: true;
      text: string;
      outputTokens: number;
      promptTokens: number;
      tokensCounted: boolean;
      model: string | null;
      systemFingerprint: string | null;
      attempts: number;
      latencyMs: number;
    }
  | { ok: false; reason: string; kind: InferenceErrorKind; attempts: number; latencyMs: number };

export interface InferOptions {
  /** Retries after the first attempt; 0 means one attempt only. */
  maxRetries: number;
  /** Aborting ends the call at once, mid-request or mid-wait, with kind 'aborted'. */
  signal: AbortSignal;
  backoff?: BackoffOptions;
}

/** `latencyMs` is the wall time of the whole call: every attempt and every wait between them. */
export async function inferWithRetries(
  endpoint: ModelEndpoint,
  prompt: Prompt,
  params: InferenceParams,
  o: InferOptions,
): Promise<InferenceOutcome> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;

  const attempt = async (): Promise<AttemptOutcome<ModelOutput, ClassifiedError>> => {
    if (o.signal.aborted) return failed(classifyInferenceError(abortedError()));
    try {
      return { ok: true, value: await endpoint.complete(prompt, params, o.signal) };
    } catch (error) {
      // A stop can surface as whatever the cut connection looked like; it is still a stop.
      return failed(classifyInferenceError(o.signal.aborted ? abortedError() : error));
    }
  };

  const { outcome, attempts, aborted } = await retryWithBackoff(attempt, {
    maxRetries: Math.max(0, o.maxRetries),
    signal: o.signal,
    backoff: o.backoff,
  });
  if (outcome.ok)
    return {
      ok: true,
      text: outcome.value.text,
      outputTokens: outcome.value.outputTokens,
      promptTokens: outcome.value.promptTokens ?? 0,
      tokensCounted: outcome.value.tokensCounted ?? false,
      model: outcome.value.model ?? null,
      systemFingerprint: outcome.value.systemFingerprint ?? null,
      attempts,
      latencyMs: elapsed(),
    };
  if (aborted) {
    return {
      ok: false,
      kind: 'aborted',
      reason: `${abortedError().message} (last error: ${outcome.failure.message})`,
      attempts,
      latencyMs: elapsed(),
    };
  }
  return { ok: false, kind: outcome.failure.kind, reason: outcome.failure.message, attempts, latencyMs: elapsed() };
}

function failed(c: ClassifiedError): AttemptOutcome<ModelOutput, ClassifiedError> {
  return { ok: false, failure: c, retryable: c.retryable, retryAfterMs: c.retryAfterMs };
}
