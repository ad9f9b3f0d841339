/**
 * A model endpoint behind its run's traffic rules: each attempt first passes the run's adaptive
 * gate (how many in flight, Retry-After pauses: runTraffic.ts), then the shared budget of the
 * endpoint's identity when an admin set one (budgetClient.ts), and tells both how it went. The
 * attempt itself, its retries and their back-off are unchanged (inferWithRetries.ts).
 */
import type { InferenceParams } from '../../contracts/evaluation';
import { InferenceError } from '../inference/inferenceErrors';
import { approximateTokens } from '../inference/tokenCount';
import { promptText, type ModelEndpoint, type Prompt } from '../inference/modelEndpoint';
import type { GateOutcome } from './adaptiveGate';
import type { BudgetClient, BudgetPass } from './budgetClient';
import type { RunTraffic } from './runTraffic';

/** What the budget reckons a request costs before it is made: the prompt, counted as tokens are counted where no usage is reported (tokenCount.ts), and its max_tokens. */
export function reckonedTokens(prompt: Prompt, params: Pick<InferenceParams, 'maxTokens' | 'systemPrompt'>): number {
  return promptTokens(prompt, params) + (params.maxTokens ?? 0);
}

function promptTokens(prompt: Prompt, params: Pick<InferenceParams, 'systemPrompt'>): number {
  return approximateTokens(promptText(prompt)) + approximateTokens(params.systemPrompt ?? '');
}

export function governedEndpoint(
  inner: ModelEndpoint,
  traffic: RunTraffic,
  budget: BudgetClient | null,
): ModelEndpoint {
  return {
    async complete(prompt, params, signal) {
      const ticket = await traffic.gate.enter(signal);
      let outcome: GateOutcome = { kind: 'other' };
      let pass: BudgetPass | null = null;
      let spent = 0;
      try {
        if (budget) {
          const waitFrom = performance.now();
          pass = await budget.enter(reckonedTokens(prompt, params), signal);
          // Without a budget the only wait was the look-up that found none: not a wait for a budget.
          if (pass) traffic.budgetWaitMs += performance.now() - waitFrom;
        }
        const output = await inner.complete(prompt, params, signal);
        outcome = { kind: 'ok' };
        // The endpoint's own count where it gave one (usage), else the same approximation.
        spent = (output.promptTokens ?? promptTokens(prompt, params)) + output.outputTokens;
        return output;
      } catch (error) {
        if (error instanceof InferenceError && error.kind === 'rate_limited') {
          outcome = { kind: 'rate_limited', retryAfterMs: error.retryAfterMs };
          traffic.rateLimited += 1;
        }
        // A refused or failed request still used its prompt's worth at most; reckon the prompt.
        if (pass) spent = promptTokens(prompt, params);
        throw error;
      } finally {
        if (budget && pass) budget.leave(pass, spent);
        traffic.gate.leave(ticket, outcome);
      }
    },
  };
}
