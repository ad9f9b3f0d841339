/**
 * A privately deployed model, as the batch activity sees it: the flageval-serving NLP protocol
 * (`POST /func` with the sampling parameters, answered with `completions: [{text, tokens}]`) behind
 * the same ModelEndpoint interface as an OpenAI-compatible one. Failures are turned into the
 * `openai` package's error types and classified by classifyInferenceError, so a refused connection,
 * a 5xx, a 429 with Retry-After or a malformed body mean exactly what they mean for an API model.
 */
import { setMaxListeners } from 'node:events';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { InferenceParams } from '../../contracts/evaluation';
import { InferenceError, abortedError, classifyInferenceError } from './inferenceErrors';
import type { ModelEndpoint, ModelOutput, Prompt } from './modelEndpoint';
import { approximateTokens } from './tokenCount';
import { nodeHttpFetch } from './nodeHttpFetch';
import { applyTemplate, mergeStops } from './promptTemplates';
import { funcSampling } from './samplingRequest';

export interface FuncEndpointOptions {
  /** Where the model service answers, e.g. http://127.0.0.1:41234 (its `/func` is appended). */
  baseUrl: string;
  requestTimeoutMs: number;
  /** Sent as `engine`; services may ignore it. */
  engine?: string;
  /** Largest answer read (nodeHttpFetch.ts's default when absent). */
  maxAnswerBytes?: number;
}

export function createFuncEndpoint(o: FuncEndpointOptions): ModelEndpoint {
  const url = `${o.baseUrl.replace(/\/+$/, '')}/func`;
  const engine = o.engine || 'default';
  return {
    async complete(prompt: Prompt, params: InferenceParams, signal: AbortSignal): Promise<ModelOutput> {
      if (typeof prompt !== 'string')
        throw new InferenceError('bad_request', 'the /func protocol takes text only, not a question about pictures');
      // One signal stops every lane of a batch, so it rightly has a listener per request in flight.
      setMaxListeners(0, signal);
      if (signal.aborted) throw abortedError();
      const timeout = AbortSignal.timeout(o.requestTimeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      try {
        // The service is a completion model: a template wraps the prompt as for a completions endpoint.
        const templated = params.template ? applyTemplate(params.template, prompt, params.systemPrompt) : null;
        const asked = templated ? templated.text : prompt;
        const sampling = funcSampling(params, asked, mergeStops(params.stop, templated?.stopWords ?? []));
        const body = {
          engine,
          prompt: asked,
          temperature: sampling.temperature,
          num_return_sequences: 1,
          max_new_tokens: sampling.max_new_tokens,
          top_p: sampling.top_p,
          echo_prompt: false,
          top_k_per_token: 1,
          stop_sequences: sampling.stop_sequences,
        };
        let response: Response;
        try {
          response = await nodeHttpFetch(
            url,
            {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
              signal: both,
            },
            { maxAnswerBytes: o.maxAnswerBytes },
          );
        } catch (error) {
          throw signal.aborted || timeout.aborted
            ? error
            : new APIConnectionError({ message: 'Connection error.', cause: error as Error });
        }
        const text = await response.text();
        if (!response.ok) {
          // The SDK reads an error's explanation from an `error` field; flageval-serving writes
          // {"code", "message"}, and a service may use yet another shape.
          const json = parseJson(text);
          const payload =
            json === null
              ? undefined
              : typeof json === 'object' && 'error' in json
                ? json
                : typeof json === 'object' && json !== null && 'message' in json
                  ? { error: { message: messageText((json as { message: unknown }).message) } }
                  : { error: json };
          throw APIError.generate(response.status, payload, json === null ? text : undefined, response.headers);
        }
        return output(JSON.parse(text), asked);
      } catch (error) {
        if (signal.aborted) throw abortedError();
        if (timeout.aborted) throw classified(new APIConnectionTimeoutError(), o.requestTimeoutMs);
        throw error instanceof InferenceError ? error : classified(error, o.requestTimeoutMs);
      }
    },
  };
}

function modelInfoText(response: object): string {
  const info = (response as { model_info?: unknown }).model_info;
  return typeof info === 'string' && info !== '' ? ` (model_info: ${info.slice(0, 200)})` : '';
}

function messageText(message: unknown): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

function classified(error: unknown, timeoutMs: number): InferenceError {
  const c = classifyInferenceError(error, { timeoutMs });
  return new InferenceError(c.kind, c.message, c.retryAfterMs);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Checks the shape by hand: whatever the user's service returns is passed on as it is. */
function output(response: unknown, asked: string): ModelOutput {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) {
    throw new InferenceError('malformed', 'malformed response: the body is not a JSON object');
  }
  const { completions, status } = response as { completions?: unknown; status?: unknown };
  // flageval-serving's NLPEvalResponse carries a status a service may set to say it failed.
  if (typeof status === 'number' && status !== 200)
    throw new InferenceError(
      status >= 500 ? 'server' : 'bad_request',
      `the service answered status ${status} in its NLPEvalResponse${modelInfoText(response)}`,
    );
  if (completions === undefined || completions === null || (Array.isArray(completions) && completions.length === 0)) {
    throw new InferenceError('empty', 'response had no completions');
  }
  if (!Array.isArray(completions))
    throw new InferenceError('malformed', 'malformed response: "completions" is not a list');
  const first = completions[0] as { text?: unknown; tokens?: unknown } | null;
  if (typeof first !== 'object' || first === null)
    throw new InferenceError('malformed', 'malformed response: the first completion is not an object');
  if (typeof first.text !== 'string')
    throw new InferenceError('malformed', 'malformed response: the first completion has no text');
  // The protocol reports the answer's tokens as a list (a count) at best, never the prompt's: the
  // prompt is always counted here, so the sample's tokens are marked counted.
  const tokens = first.tokens;
  const outputTokens = Array.isArray(tokens) ? tokens.length : approximateTokens(first.text);
  return {
    text: first.text,
    outputTokens,
    promptTokens: approximateTokens(asked),
    tokensCounted: true,
    model: null,
    systemFingerprint: null,
  };
}
