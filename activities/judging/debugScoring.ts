/**
 * The debug call's scoring: a handful of samples through one metric configuration, synchronously,
 * with every step returned. Bounded: at most DEBUG_MAX_SAMPLES samples, and every judge call is
 * abandoned when DEBUG_TIMEOUT_MS has passed. Nothing is stored.
 */
import type { FrozenMetric, JudgingLimits } from '../../contracts/scoringConfig';
import { DEFAULT_JUDGING_LIMITS } from '../../contracts/scoringConfig';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import type { MetricName } from '../../contracts/dataset';
import { scoreSample } from '../../scoring/metrics';
import { scoreWithJudge, type JudgeSample } from '../../scoring/judge/scoreWithJudge';
import { createJudgeClient } from './judgeClient';
import type { JudgeTarget } from './resolveJudge';

export const DEBUG_MAX_SAMPLES = 10;
export const DEBUG_TIMEOUT_MS = 60_000;

export interface DebugOptions {
  metric: Pick<FrozenMetric, 'metric' | 'options' | 'systemPrompt' | 'prompt' | 'preprocess' | 'postprocess'>;
  /** The judge to ask (key already resolved); null: a judge metric falls back to exact match. */
  target: JudgeTarget | null;
  limits?: JudgingLimits;
  timeoutMs?: number;
}

export async function debugScoring(samples: readonly JudgeSample[], o: DebugOptions): Promise<ScoringTrace[]> {
  const { metric } = o;
  if (metric.metric !== 'judge') {
    const rule = metric.metric as MetricName;
    return samples.map((s) => {
      const score = scoreSample(rule, s.answer, { ground_truth: s.reference, choices: s.choices ? [...s.choices] : undefined }, metric.options ?? {});
      return { method: 'rule', steps: [{ step: 'score', score }], score, error: null, attempts: 0 };
    });
  }
  const limits = { ...DEFAULT_JUDGING_LIMITS, ...o.limits };
  const timeoutMs = o.timeoutMs ?? DEBUG_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const client = o.target ? createJudgeClient({ ...o.target, maxRetries: limits.maxJudgingRetryPerQ, signal }) : null;
  const traces: ScoringTrace[] = new Array(samples.length);
  let next = 0;
  const lane = async () => {
    while (next < samples.length) {
      const i = next++;
      const trace = await scoreWithJudge(metric, client, samples[i]!);
      if (signal.aborted && trace.error) trace.error = `the judge did not answer within the debug call's limit of ${timeoutMs / 1000} s`;
      traces[i] = trace;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limits.maxJudgingConcurrency, samples.length) }, lane));
  return traces;
}
