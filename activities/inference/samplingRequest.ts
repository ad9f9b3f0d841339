/**
 * What a run's inference parameters become in a request: the fields an OpenAI-compatible server
 * takes (vLLM and SGLang read top_k and repetition_penalty as extra body fields beside the
 * standard ones) and the flageval-serving /func body. A setting left unset is not sent, so the
 * server's default applies and runs launched before the setting existed ask what they asked.
 *
 * doSample false is greedy decoding, as TI-ONE defines it: temperature 0 and top_p 1, with top_k
 * and repetition_penalty not sent (they do not take effect). maxModelLen is the model's context
 * length: the answer may take what the prompt leaves of it, so max_tokens is lowered to fit; the
 * prompt's tokens are estimated on the safe side (no tokenizer of the model is at hand), and a
 * prompt that leaves no room fails its sample with that reason instead of being sent.
 */
import type { InferenceParams } from '../../contracts/evaluation';
import { InferenceError } from './inferenceErrors';

/**
 * Tokens a prompt is taken to need: a token for every non-ASCII character (CJK text runs about
 * one a character) and one per three ASCII characters (English runs about four), rounded up.
 */
export function estimatePromptTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const ch of text) {
    if (ch.codePointAt(0)! < 128) ascii += 1;
    else other += 1;
  }
  return Math.ceil(ascii / 3) + other;
}

/** max_tokens for this prompt: the run's, lowered to what maxModelLen leaves after the prompt. */
export function answerTokens(params: InferenceParams, promptText: string): number {
  if (params.maxModelLen === undefined) return params.maxTokens;
  const promptTokens = estimatePromptTokens(promptText);
  const room = params.maxModelLen - promptTokens;
  if (room < 1)
    throw new InferenceError(
      'bad_request',
      `the prompt is about ${promptTokens} tokens (estimated), which leaves no room for an answer within maxModelLen ${params.maxModelLen}`,
    );
  return Math.min(params.maxTokens, room);
}

export interface OpenAiSampling {
  max_tokens: number;
  temperature: number;
  top_p: number;
  /** vLLM and SGLang extra body fields. */
  top_k?: number;
  repetition_penalty?: number;
  seed?: number;
  stop?: string[];
}

const SEEDS = 2_147_483_648;

/**
 * The parameters of the n-th of several completions of one prompt (pass@k asks n, counted from 0):
 * the seed moved on by n, so that a seeded server does not answer the same n times; the draw stays
 * repeatable. Without a seed the parameters are the run's.
 */
export function nthCompletion(params: InferenceParams, n: number): InferenceParams {
  return params.seed === undefined || n === 0 ? params : { ...params, seed: (params.seed + n) % SEEDS };
}

/** The sampling fields of a chat or completions request (model, prompt and messages aside). */
export function openAiSampling(params: InferenceParams, promptText: string, stop: readonly string[]): OpenAiSampling {
  const greedy = params.doSample === false;
  return {
    max_tokens: answerTokens(params, promptText),
    temperature: greedy ? 0 : params.temperature,
    top_p: greedy ? 1 : params.topP,
    ...(params.topK !== undefined && !greedy ? { top_k: params.topK } : {}),
    ...(params.repetitionPenalty !== undefined && !greedy ? { repetition_penalty: params.repetitionPenalty } : {}),
    ...(params.seed !== undefined ? { seed: params.seed } : {}),
    ...(stop.length > 0 ? { stop: [...stop] } : {}),
  };
}

/**
 * The sampling fields of a /func request. The protocol has no top_k, repetition_penalty or seed
 * (its top_k_per_token is about log-probabilities), so those are not sent to a private deployment.
 */
export function funcSampling(
  params: InferenceParams,
  promptText: string,
  stop: readonly string[],
): { temperature: number; top_p: number; max_new_tokens: number; stop_sequences: string[] } {
  const greedy = params.doSample === false;
  return {
    temperature: greedy ? 0 : params.temperature,
    top_p: greedy ? 1 : params.topP,
    max_new_tokens: answerTokens(params, promptText),
    stop_sequences: [...stop],
  };
}
