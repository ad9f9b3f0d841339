/**
 * The judge model, reached through the `openai` SDK at an OpenAI-compatible base URL. Each call is
 * retried up to MAX_JUDGING_RETRY_PER_Q times with jittered back-off (the inference path's
 * retryWithBackoff and error classification), and its outcome is a value: a judge that is down
 * fails the sample with a reason ("judge unreachable after 3 attempts: connection refused …"),
 * never the batch. The key is scrubbed from every message.
 */
import { setMaxListeners } from 'node:events';
import { createEndpointClient } from '../inference/openaiClient';
import type { EndpointTransport } from '../inference/nodeHttpFetch';
import { answerTokens } from '../inference/tokenCount';
import { classifyInferenceError, abortedError, type ClassifiedError } from '../inference/inferenceErrors';
import { retryWithBackoff, type AttemptOutcome, type BackoffOptions } from '../inference/retryWithBackoff';
import type { JudgeMessage, JudgeReply, ResolvedJudge } from '../../scoring/judge/scoreWithJudge';
import type { BudgetClient } from '../traffic/budgetClient';

export interface JudgeClientOptions {
  baseUrl: string;
  model: string;
  apiKey: string | null;
  temperature?: number;
  maxTokens?: number;
  timeoutMs?: number;
  maxRetries: number;
  signal: AbortSignal;
  backoff?: BackoffOptions;
  transport?: EndpointTransport;
  /** The shared budget of the judge's endpoint identity, when an admin set one (docs/rate-limits.md). */
  budget?: BudgetClient | null;
  /** Told the tokens of each answered call: its `usage`, else counted (tokenCount.ts). */
  onTokens?: (promptTokens: number, completionTokens: number) => void;
}

export const JUDGE_DEFAULTS = { temperature: 0, maxTokens: 512, timeoutMs: 60_000 } as const;

/** Kinds that mean the judge could not be reached at all, as opposed to answering badly. */
const UNREACHABLE = new Set(['connection', 'timeout']);

export function createJudgeClient(o: JudgeClientOptions): ResolvedJudge {
  const timeoutMs = o.timeoutMs ?? JUDGE_DEFAULTS.timeoutMs;
  const client = createEndpointClient({ baseURL: o.baseUrl, apiKey: o.apiKey, timeoutMs, transport: o.transport });
  const classify = (error: unknown): ClassifiedError => {
    const c = classifyInferenceError(o.signal.aborted ? abortedError() : error, { timeoutMs, secrets: [o.apiKey] });
    return {
      ...c,
      message: c.message
        .replace(/model endpoint/g, 'judge')
        .replace(/the online model name/g, 'the judge model name')
        .replace(/serve the model/g, 'serve the judge'),
    };
  };
  return {
    model: o.model,
    async call(messages: JudgeMessage[]): Promise<JudgeReply> {
      setMaxListeners(0, o.signal);
      const started = performance.now();
      // What the budget reckons a call costs up front: its messages (about 4 characters a token) and max_tokens.
      const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      const maxTokens = o.maxTokens ?? JUDGE_DEFAULTS.maxTokens;
      const attempt = async (): Promise<AttemptOutcome<string, ClassifiedError>> => {
        let pass = null;
        let spent = promptTokens;
        try {
          pass = o.budget ? await o.budget.enter(promptTokens + maxTokens, o.signal) : null;
          const response = await client.chat.completions.create(
            {
              model: o.model,
              messages,
              temperature: o.temperature ?? JUDGE_DEFAULTS.temperature,
              max_tokens: maxTokens,
              stream: false,
            },
            { signal: o.signal },
          );
          const content = (response as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]
            ?.message?.content;
          if (typeof content !== 'string') {
            const c: ClassifiedError = {
              kind: 'malformed',
              retryable: true,
              retryAfterMs: null,
              message: 'malformed reply: no message content in the first choice',
            };
            return { ok: false, failure: c, retryable: true, retryAfterMs: null };
          }
          const used = (response as { usage?: { completion_tokens?: unknown } } | null)?.usage?.completion_tokens;
          spent += typeof used === 'number' && Number.isFinite(used) ? used : Math.ceil(content.length / 4);
          if (o.onTokens) {
            const asked = messages.map((m) => m.content).join('\n');
            const t = answerTokens((response as { usage?: unknown }).usage, asked, content);
            o.onTokens(t.promptTokens, t.completionTokens);
          }
          return { ok: true, value: content };
        } catch (error) {
          const c = classify(error);
          return { ok: false, failure: c, retryable: c.retryable, retryAfterMs: c.retryAfterMs };
        } finally {
          if (pass) o.budget!.leave(pass, spent);
        }
      };
      const { outcome, attempts } = await retryWithBackoff(attempt, {
        maxRetries: o.maxRetries,
        signal: o.signal,
        backoff: o.backoff,
      });
      const latencyMs = performance.now() - started;
      if (outcome.ok) return { ok: true, reply: outcome.value, attempts, latencyMs };
      const what = UNREACHABLE.has(outcome.failure.kind) ? 'judge unreachable' : 'judge failed';
      return {
        ok: false,
        reason: `${what} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${outcome.failure.message}`,
        kind: outcome.failure.kind,
        attempts,
        latencyMs,
      };
    },
  };
}
