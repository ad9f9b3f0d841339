/**
 * The tokens of one answer: the endpoint's own `usage` when it reports one, else counted here with
 * an approximation, and then marked as counted. No tokenizer is shipped: the platform asks models
 * of every family, each with its own vocabulary, and no single one would be right for them all.
 *
 * The approximation (docs/tokens-and-cost.md): each CJK character, kana or Hangul syllable is one
 * token; the rest of the text is one token per four characters, rounded up, the rule of thumb
 * OpenAI gives for English. It is within about ±30 % on English prose and code for common
 * tokenizers, and errs high on languages in other scripts.
 */

export interface AnswerTokens {
  promptTokens: number;
  completionTokens: number;
  /** True when any of the two was counted here rather than reported by the endpoint. */
  counted: boolean;
}

const SINGLE_TOKEN_CHARS = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/g;

export function approximateTokens(text: string): number {
  if (text === '') return 0;
  const single = text.match(SINGLE_TOKEN_CHARS)?.length ?? 0;
  const rest = [...text].length - single;
  return single + Math.ceil(rest / 4);
}

/** A count the endpoint reported: a finite non-negative integer, else null. */
function reportedCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/**
 * Tokens from an OpenAI-compatible `usage` ({prompt_tokens, completion_tokens}); a field missing
 * or not a count is counted from the text asked or answered.
 */
export function answerTokens(usage: unknown, askedText: string, answerText: string): AnswerTokens {
  const u = typeof usage === 'object' && usage !== null ? (usage as Record<string, unknown>) : {};
  const prompt = reportedCount(u.prompt_tokens);
  const completion = reportedCount(u.completion_tokens);
  return {
    promptTokens: prompt ?? approximateTokens(askedText),
    completionTokens: completion ?? approximateTokens(answerText),
    counted: prompt === null || completion === null,
  };
}

/** A `model` or `system_fingerprint` field as answered: non-empty text, else null. */
export function identityField(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, 256) : null;
}
