/**
 * OpenAI requests to the flageval-serving `/func` protocol and its answers back, for a job whose
 * model is a private deployment. A chat request becomes one prompt: the system messages' contents
 * first, then every other message's content in order, joined by a blank line (no role markers: a
 * `/func` service takes plain text and applies its own template, if any). Sampling parameters map
 * one to one, with the defaults the batch activity uses for a private model.
 */
import { randomBytes } from 'node:crypto';
import { estimateTokens } from '../inference/modelEndpoint';
import { badRequest, badUpstream } from './proxyErrors';

/** The body of one `POST /func`, as funcEndpoint.ts sends it. */
export interface FuncRequest {
  engine: string;
  prompt: string;
  temperature: number;
  num_return_sequences: number;
  max_new_tokens: number;
  top_p: number;
  echo_prompt: false;
  top_k_per_token: 1;
  stop_sequences: string[];
}

export const DEFAULT_MAX_NEW_TOKENS = 512;

/** One completion of a `/func` answer; `tokens` is null when the service sent no token list. */
export interface FuncCompletion {
  text: string;
  tokens: number | null;
}

export function funcRequest(route: 'chat' | 'completions', body: Record<string, unknown>, engine: string): FuncRequest {
  const prompt = route === 'chat' ? chatPrompt(body.messages) : completionPrompt(body.prompt);
  return {
    engine,
    prompt,
    temperature: numberParam(body, 'temperature', 0, 0, 2),
    num_return_sequences: intParam(body, 'n', 1),
    max_new_tokens: intParam(
      body,
      body.max_tokens == null ? 'max_completion_tokens' : 'max_tokens',
      DEFAULT_MAX_NEW_TOKENS,
    ),
    top_p: numberParam(body, 'top_p', 1, 0, 1),
    echo_prompt: false,
    top_k_per_token: 1,
    stop_sequences: stopSequences(body.stop),
  };
}

/** System messages first, then the turns, each message's text, joined by a blank line. */
export function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest('"messages" must be a non-empty list of {role, content} objects', 'invalid_messages');
  const texts = messages.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw badRequest(`messages[${i}] is not an object`, 'invalid_messages');
    const { role, content } = m as { role?: unknown; content?: unknown };
    return { system: role === 'system' || role === 'developer', text: messageText(content, i) };
  });
  return [...texts.filter((t) => t.system), ...texts.filter((t) => !t.system)].map((t) => t.text).join('\n\n');
}

function messageText(content: unknown, index: number): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw badRequest(`messages[${index}].content must be a string or a list of text parts`, 'invalid_messages');
  return content
    .map((part, p) => {
      const { type, text } = (part ?? {}) as { type?: unknown; text?: unknown };
      if (type !== 'text' || typeof text !== 'string')
        throw badRequest(
          `messages[${index}].content[${p}] is a ${JSON.stringify(type)} part; this model takes text parts only`,
          'invalid_messages',
        );
      return text;
    })
    .join('\n');
}

function completionPrompt(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  throw badRequest(
    '"prompt" must be one string (lists of prompts and token arrays are not supported)',
    'invalid_prompt',
  );
}

function numberParam(body: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw badRequest(`"${name}" must be a number from ${min} to ${max}`, `invalid_${name}`);
  return value;
}

function intParam(body: Record<string, unknown>, name: string, fallback: number): number {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw badRequest(`"${name}" must be a positive integer`, `invalid_${name}`);
  return value;
}

function stopSequences(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop as string[];
  throw badRequest('"stop" must be a string or a list of strings', 'invalid_stop');
}

/** Reads a `/func` answer (`{completions: [{text, tokens}]}`), refusing anything else with a 502. */
export function funcCompletions(answer: unknown): FuncCompletion[] {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer))
    throw badUpstream('the model service answered with JSON that is not an object');
  const { completions, error, status } = answer as { completions?: unknown; error?: unknown; status?: unknown };
  if (error !== undefined && error !== null && error !== '')
    throw badUpstream(`the model service reported an error: ${shortDescription(error)}`, 'upstream_error');
  // flageval-serving's NLPEvalResponse.status: a service may say it failed in a 200 answer.
  if (typeof status === 'number' && status !== 200)
    throw badUpstream(`the model service answered status ${status} in its NLPEvalResponse`, 'upstream_error');
  if (!Array.isArray(completions) || completions.length === 0)
    throw badUpstream('the model service answered without completions (expected {"completions": [{"text": …}]})');
  return completions.map((c, i) => {
    const { text, tokens } = (c ?? {}) as { text?: unknown; tokens?: unknown };
    if (typeof text !== 'string') throw badUpstream(`the model service's completion ${i} has no text`);
    return {
      text,
      tokens: Array.isArray(tokens) ? tokens.length : typeof tokens === 'string' ? estimateTokens(tokens) : null,
    };
  });
}

/** A short description of a service's error value, for a message. */
export function shortDescription(value: unknown): string {
  const message =
    typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string'
      ? (value as { message: string }).message
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  const text = message.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || '(no details)';
}

/**
 * The OpenAI answer for a `/func` answer: a chat.completion or text_completion whose model is the
 * engine. A completion is marked `length` when its reported token list reached max_new_tokens;
 * prompt tokens are estimated by words, as are completion tokens the service did not list.
 */
export function openaiAnswer(route: 'chat' | 'completions', request: FuncRequest, completions: FuncCompletion[]) {
  const choices = completions.map((c, index) => {
    const finish_reason = c.tokens !== null && c.tokens >= request.max_new_tokens ? 'length' : 'stop';
    return route === 'chat'
      ? { index, message: { role: 'assistant', content: c.text }, finish_reason, logprobs: null }
      : { index, text: c.text, finish_reason, logprobs: null };
  });
  const prompt_tokens = estimateTokens(request.prompt);
  const completion_tokens = completions.reduce((sum, c) => sum + (c.tokens ?? estimateTokens(c.text)), 0);
  return {
    id: `${route === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`,
    object: route === 'chat' ? 'chat.completion' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: request.engine,
    choices,
    usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
  };
}
