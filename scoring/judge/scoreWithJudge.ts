/**
 * One sample through a judge metric: preprocess the answer, fill the prompt, ask the judge,
 * postprocess its reply into a score, and keep every step. With no judge configured the answer is
 * scored by exact match instead, as EvalScope does, and the trace says so. The judge call is given
 * by the caller (retries, keys and HTTP live with it), so this stays pure and testable.
 */
import { DEFAULT_JUDGE_PROMPT, DEFAULT_POSTPROCESS, type MetricConfig } from '../../contracts/scoringConfig';
import type { ScoringStep, ScoringTrace } from '../../contracts/scoringTrace';
import { scoreSample } from '../metrics';
import { choicesText, renderTemplate } from './promptTemplate';
import { applyPostprocess, applyPreprocess, finalScore, stepName, StepFailed } from './processingSteps';

export interface JudgeSample {
  question: string;
  answer: string;
  reference: string;
  choices?: readonly string[] | null;
}

export type JudgeMessage = { role: 'system' | 'user'; content: string };

export type JudgeReply =
  | { ok: true; reply: string; attempts: number; latencyMs: number }
  /** `kind` classifies the last failure (connection, timeout, auth, server, malformed, …). */
  | { ok: false; reason: string; kind: string; attempts: number; latencyMs: number };

export interface ResolvedJudge {
  model: string;
  call(messages: JudgeMessage[]): Promise<JudgeReply>;
}

/** The metric entry as the pipeline reads it (the key is not its business). */
export type JudgeMetric = Pick<MetricConfig, 'systemPrompt' | 'prompt' | 'preprocess' | 'postprocess'>;

export const NO_JUDGE_REASON =
  'no judge is configured (neither in the metric nor by PROCTOR_JUDGE_BASE_URL and PROCTOR_JUDGE_MODEL): scored by exact match';

/** The judge's step of a trace: its reply as received (null when none came), what it took, and why it failed. */
export function judgeStep(model: string, reply: JudgeReply): ScoringStep {
  return reply.ok
    ? { step: 'judge', model, reply: reply.reply, attempts: reply.attempts, latencyMs: Math.round(reply.latencyMs) }
    : {
        step: 'judge',
        model,
        reply: null,
        attempts: reply.attempts,
        latencyMs: Math.round(reply.latencyMs),
        error: reply.reason,
      };
}

export async function scoreWithJudge(
  metric: JudgeMetric,
  judge: ResolvedJudge | null,
  sample: JudgeSample,
): Promise<ScoringTrace> {
  const steps: ScoringStep[] = [];
  let answer = sample.answer;
  for (const step of metric.preprocess ?? []) {
    answer = applyPreprocess(step, answer);
    steps.push({ step: 'preprocess', op: stepName(step), output: answer });
  }

  if (!judge) {
    steps.push({ step: 'fallback', reason: NO_JUDGE_REASON, metric: 'exact_match' });
    const score = scoreSample('exact_match', answer, {
      ground_truth: sample.reference,
      choices: sample.choices ? [...sample.choices] : undefined,
    });
    steps.push({ step: 'score', score });
    return { method: 'exact_match_fallback', steps, score, error: null, attempts: 0 };
  }

  const content = renderTemplate(metric.prompt ?? DEFAULT_JUDGE_PROMPT, {
    question: sample.question,
    answer,
    reference: sample.reference,
    choices: choicesText(sample.choices),
  });
  const messages: JudgeMessage[] = metric.systemPrompt
    ? [
        { role: 'system', content: metric.systemPrompt },
        { role: 'user', content },
      ]
    : [{ role: 'user', content }];
  steps.push({ step: 'prompt', messages });

  const reply = await judge.call(messages);
  steps.push(judgeStep(judge.model, reply));
  if (!reply.ok) return { method: 'judge', steps, score: null, error: reply.reason, attempts: reply.attempts };

  let value: string | number = reply.reply;
  const postprocess = metric.postprocess ?? DEFAULT_POSTPROCESS;
  for (const [i, step] of postprocess.entries()) {
    try {
      value = applyPostprocess(step, value);
      steps.push({ step: 'postprocess', op: stepName(step), output: value });
    } catch (error) {
      const reason = `postprocessing step ${i + 1} (${stepName(step)}) failed: ${(error as Error).message}`;
      steps.push({ step: 'postprocess', op: stepName(step), output: null, error: reason });
      return { method: 'judge', steps, score: null, error: reason, attempts: reply.attempts };
    }
  }
  try {
    const score = finalScore(value);
    steps.push({ step: 'score', score });
    return { method: 'judge', steps, score, error: null, attempts: reply.attempts };
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    return { method: 'judge', steps, score: null, error: error.message, attempts: reply.attempts };
  }
}
