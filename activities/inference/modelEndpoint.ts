/**
 * One OpenAI-compatible model endpoint, as the batch activity sees it: a prompt goes in, the
 * model's text and its output length come out, and anything else surfaces as an InferenceError
 * already classified (with the API key scrubbed from its message). Retries are not done here:
 * the SDK's own are switched off so inferWithRetries alone decides, and counts, attempts (the
 * client's settings: openaiClient.ts).
 */
import { setMaxListeners } from 'node:events';
import type OpenAI from 'openai';
import type { ApiMode, InferenceParams } from '../../contracts/evaluation';
import { InferenceError, abortedError, classifyInferenceError } from './inferenceErrors';
import { createEndpointClient } from './openaiClient';
import { mergeStops, applyTemplate } from './promptTemplates';
import { openAiSampling } from './samplingRequest';
import type { EndpointTransport } from './nodeHttpFetch';
import { answerTokens, identityField } from './tokenCount';

export interface ModelOutput {
  text: string;
  /** Completion tokens, as reported or counted (tokenCount.ts). */
  outputTokens: number;
  /** Prompt tokens, as reported or counted; absent where there was no prompt sent (uploaded predictions). */
  promptTokens?: number;
  /** True when the tokens were counted by the platform, the endpoint having reported no usage. */
  tokensCounted?: boolean;
  /** The answer's `model` and `system_fingerprint`, when it carried them (run model-change warnings). */
  model?: string | null;
  systemFingerprint?: string | null;
}

/**
 * A question about pictures (a multimodal vqa item): its text places them with `<image N>`,
 * numbered from 1 in the order of `images` (docs/multimodal.md).
 */
export interface PictureQuestion {
  text: string;
  /** PNG files. */
  images: readonly Uint8Array[];
}

export type Prompt = string | PictureQuestion;

export function promptText(prompt: Prompt): string {
  return typeof prompt === 'string' ? prompt : prompt.text;
}

export interface ModelEndpoint {
  complete(prompt: Prompt, params: InferenceParams, signal: AbortSignal): Promise<ModelOutput>;
}

const PLACEHOLDER = /<image\s*(\d+)>/g;

/**
 * A picture question as chat content parts: the text between placeholders as text parts and each
 * placeholder's picture as an image_url part with a base64 data URL, in the text's order. Pictures
 * no placeholder names follow the text; a placeholder with no picture stays as text.
 */
export function pictureContent(q: PictureQuestion): OpenAI.Chat.ChatCompletionContentPart[] {
  const parts: OpenAI.Chat.ChatCompletionContentPart[] = [];
  const placed = new Set<number>();
  const picture = (n: number): OpenAI.Chat.ChatCompletionContentPart => ({
    type: 'image_url',
    image_url: { url: `data:image/png;base64,${Buffer.from(q.images[n]!).toString('base64')}` },
  });
  let from = 0;
  let text = '';
  for (const match of q.text.matchAll(PLACEHOLDER)) {
    const n = Number(match[1]) - 1;
    text += q.text.slice(from, match.index);
    from = match.index + match[0].length;
    if (n < 0 || n >= q.images.length) {
      text += match[0];
      continue;
    }
    if (text !== '') parts.push({ type: 'text', text });
    text = '';
    parts.push(picture(n));
    placed.add(n);
  }
  text += q.text.slice(from);
  if (text !== '') parts.push({ type: 'text', text });
  q.images.forEach((_, n) => {
    if (!placed.has(n)) parts.push(picture(n));
  });
  return parts;
}

export interface ModelEndpointOptions {
  /** Base URL, e.g. http://host:8000/v1. */
  endpoint: string;
  apiKey: string | null;
  /** The model to ask for; null means the first one the endpoint lists. */
  onlineModelName: string | null;
  apiMode: ApiMode;
  requestTimeoutMs: number;
  /** Used when the inference parameters carry none. */
  systemPrompt?: string;
  /** The networks refused and the largest answer read; the endpoint is a user's URL. */
  transport?: EndpointTransport;
}

export function createModelEndpoint(o: ModelEndpointOptions): ModelEndpoint {
  const clientOptions = {
    baseURL: o.endpoint,
    apiKey: o.apiKey,
    timeoutMs: o.requestTimeoutMs,
    transport: o.transport,
  };
  const client = createEndpointClient(clientOptions);
  // Completions go through a client whose transport the caller's signal stops (one per signal: a
  // batch has one), rather than the signal handed to the SDK with every call (openaiClient.ts).
  const stoppable = new WeakMap<AbortSignal, OpenAI>();
  const clientStoppedBy = (signal: AbortSignal): OpenAI => {
    let stopped = stoppable.get(signal);
    if (!stopped) stoppable.set(signal, (stopped = createEndpointClient({ ...clientOptions, stop: signal })));
    return stopped;
  };
  const classifyContext = { timeoutMs: o.requestTimeoutMs, secrets: [o.apiKey] };
  const asInferenceError = (error: unknown, prefix = '') => {
    const c = classifyInferenceError(error, classifyContext);
    return new InferenceError(c.kind, `${prefix}${c.message}`, c.retryAfterMs);
  };

  // Looked up once per endpoint and shared by every lane; a failed lookup is forgotten so the
  // next attempt asks again rather than failing forever on one bad moment.
  let modelLookup: Promise<string> | null = o.onlineModelName ? Promise.resolve(o.onlineModelName) : null;
  let knownModel: string | null = o.onlineModelName;
  const lookUpModel = async (): Promise<string> => {
    let page;
    try {
      page = await client.models.list();
    } catch (error) {
      throw asInferenceError(
        error,
        "could not list the endpoint's models to choose one (setting the online model name skips this): ",
      );
    }
    const id = (page?.data ?? []).find((m) => typeof m?.id === 'string' && m.id !== '')?.id;
    if (!id) throw new InferenceError('not_found', 'the endpoint lists no models; set the online model name');
    knownModel = id;
    return id;
  };
  const modelName = (signal: AbortSignal): Promise<string> => {
    modelLookup ??= lookUpModel().catch((error: unknown) => {
      modelLookup = null;
      throw error;
    });
    // Every lane of a batch waits on the one lookup with the batch's one signal.
    setMaxListeners(0, signal);
    return untilAborted(modelLookup, signal);
  };

  return {
    async complete(prompt, params, signal) {
      try {
        if (signal.aborted) throw abortedError();
        const model = knownModel ?? (await modelName(signal));
        const systemPrompt = params.systemPrompt ?? o.systemPrompt;
        if (o.apiMode === 'chat') {
          const content = typeof prompt === 'string' ? prompt : pictureContent(prompt);
          const messages: OpenAI.Chat.ChatCompletionMessageParam[] = systemPrompt
            ? [
                { role: 'system', content: systemPrompt },
                { role: 'user', content },
              ]
            : [{ role: 'user', content }];
          const asked = systemPrompt ? `${systemPrompt}\n${promptText(prompt)}` : promptText(prompt);
          const response = await clientStoppedBy(signal).chat.completions.create({
            model,
            ...openAiSampling(params, asked, params.stop ?? []),
            messages,
            stream: false,
          });
          return withoutKey(
            output(response, asked, (choice) => chatText(choice)),
            o.apiKey,
          );
        }
        if (typeof prompt !== 'string')
          throw new InferenceError(
            'bad_request',
            'a completions endpoint takes text only; a question about pictures needs apiMode chat (content parts)',
          );
        // Completion endpoints have no roles: a template wraps the prompt in the model's turn
        // markers (the system prompt in its place), or else the system prompt leads the text.
        const templated = params.template ? applyTemplate(params.template, prompt, systemPrompt) : null;
        const text = templated ? templated.text : systemPrompt ? `${systemPrompt}\n\n${prompt}` : prompt;
        const sampling = {
          model,
          ...openAiSampling(params, text, mergeStops(params.stop, templated?.stopWords ?? [])),
        };
        const response = await clientStoppedBy(signal).completions.create({ ...sampling, prompt: text, stream: false });
        return withoutKey(
          output(response, text, (choice) => completionText(choice)),
          o.apiKey,
        );
      } catch (error) {
        // The SDK, not told of the signal, reports a request ended by it as a timeout; it is a stop.
        if (signal.aborted) throw abortedError();
        throw error instanceof InferenceError ? error : asInferenceError(error);
      }
    },
  };
}

/**
 * A service that echoes its request (or a misconfigured proxy) can put the key into an answer,
 * which would then be stored and reported in plain text; the answer keeps its place with the key
 * cut out, as error messages do.
 */
function withoutKey(result: ModelOutput, apiKey: string | null | undefined): ModelOutput {
  if (!apiKey || !result.text.includes(apiKey)) return result;
  return { ...result, text: result.text.split(apiKey).join('[redacted]') };
}

/** Checks the shape by hand: a 200 from an "OpenAI-compatible" server promises little. */
function output(response: unknown, asked: string, textOf: (choice: unknown) => string): ModelOutput {
  if (typeof response !== 'object' || response === null)
    throw new InferenceError('malformed', 'malformed response: the body is not a JSON object');
  const { choices, usage, model, system_fingerprint } = response as {
    choices?: unknown;
    usage?: unknown;
    model?: unknown;
    system_fingerprint?: unknown;
  };
  if (choices === undefined || choices === null || (Array.isArray(choices) && choices.length === 0)) {
    throw new InferenceError('empty', 'response had no choices');
  }
  if (!Array.isArray(choices)) throw new InferenceError('malformed', 'malformed response: "choices" is not a list');
  const text = textOf(choices[0]);
  const tokens = answerTokens(usage, asked, text);
  return {
    text,
    outputTokens: tokens.completionTokens,
    promptTokens: tokens.promptTokens,
    tokensCounted: tokens.counted,
    model: identityField(model),
    systemFingerprint: identityField(system_fingerprint),
  };
}

function chatText(choice: unknown): string {
  const message = (choice as { message?: { content?: unknown } } | null)?.message;
  if (typeof message !== 'object' || message === null)
    throw new InferenceError('malformed', 'malformed response: the first choice has no message');
  // null content (a refusal, or tokens spent before any answer) is an empty answer, not a fault.
  if (message.content === null || message.content === undefined) return '';
  if (typeof message.content !== 'string')
    throw new InferenceError('malformed', 'malformed response: the message content is not text');
  return message.content;
}

function completionText(choice: unknown): string {
  const text = (choice as { text?: unknown } | null)?.text;
  if (typeof text !== 'string')
    throw new InferenceError('malformed', 'malformed response: the first choice has no text');
  return text;
}

/** Whitespace-separated words, for endpoints that report no usage. */
export function estimateTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Waits for a shared promise without letting one caller's abort cancel it for the others. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
