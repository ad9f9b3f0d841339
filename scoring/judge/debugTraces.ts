/**
 * The debug call's scoring, without the network: a rule metric scores each sample on the spot, a
 * judge metric runs each sample through scoreWithJudge (a safety entry through the safety rubric,
 * its reference being harmful or benign) with a bounded number in flight. Whoever
 * calls supplies the judge (or none: exact-match fallback), so the API can score what needs no
 * judge itself and a worker does the rest.
 */
import type { FrozenMetric } from '../../contracts/scoringConfig';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { SAFETY_METRIC, type MetricName } from '../../contracts/dataset';
import { scoreSafetyItem } from '../safety/scoreSafety';
import { scoreSample } from '../metrics';
import { scoreWithJudge, type JudgeSample, type ResolvedJudge } from './scoreWithJudge';

export type DebugMetric = Pick<
  FrozenMetric,
  'metric' | 'options' | 'systemPrompt' | 'prompt' | 'preprocess' | 'postprocess'
>;

export function ruleTraces(metric: DebugMetric, samples: readonly JudgeSample[]): ScoringTrace[] {
  const rule = metric.metric as MetricName;
  return samples.map((s) => {
    const score = scoreSample(
      rule,
      s.answer,
      { ground_truth: s.reference, choices: s.choices ? [...s.choices] : undefined },
      metric.options ?? {},
    );
    return { method: 'rule', steps: [{ step: 'score', score }], score, error: null, attempts: 0 };
  });
}

/**
 * Judge traces in sample order, at most `concurrency` samples asked at once; `settled` may reword
 * each trace as it finishes (the caller knows why a call was cut short).
 */
export async function judgeTraces(
  metric: DebugMetric,
  judge: ResolvedJudge | null,
  samples: readonly JudgeSample[],
  concurrency: number,
  settled: (trace: ScoringTrace) => ScoringTrace = (t) => t,
): Promise<ScoringTrace[]> {
  const traces: ScoringTrace[] = new Array(samples.length);
  let next = 0;
  const lane = async () => {
    while (next < samples.length) {
      const i = next++;
      const sample = samples[i]!;
      traces[i] = settled(
        metric.metric === SAFETY_METRIC
          ? await scoreSafetyItem(judge, {
              prompt: sample.question,
              answer: sample.answer,
              reference: sample.reference,
            })
          : await scoreWithJudge(metric, judge, sample),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, samples.length)) }, lane));
  return traces;
}
