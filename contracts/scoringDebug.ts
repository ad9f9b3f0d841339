/**
 * The scoring debug call as the API hands it to a worker. The API never calls a judge itself
 * (judges may only be reachable from the workers' network zone): it starts a short workflow whose
 * one activity asks the judge on the judge queue. The judge key is named by the id of its sealed
 * row, never carried: a workflow's input and result are written to its history.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FrozenMetric, JudgingLimits } from './scoringConfig';
import { ScoringTrace } from './scoringTrace';
import { nullable } from './common';

export const DEBUG_MAX_SAMPLES = 10;
/** Judge calls of a debug call are abandoned this long after the API received it. */
export const DEBUG_TIMEOUT_MS = 60_000;
/**
 * How much longer than DEBUG_TIMEOUT_MS the API waits for the worker's answer: time to hand back the
 * traces of calls abandoned at the deadline. Past it, the answer is 503 or 504.
 */
export const DEBUG_ANSWER_GRACE_MS = 5_000;

export interface DebugSampleInput {
  question: string;
  answer: string;
  reference: string;
  choices?: string[] | null;
}

export interface ScoringDebugInput {
  /**
   * A judge metric. With `judge`, its key is `judge.apiKeyId` (a sealed row, or null for none);
   * without, the worker's platform judge (PROCTOR_JUDGE_*) scores, else exact match does.
   */
  metric: FrozenMetric;
  limits: Required<JudgingLimits>;
  samples: DebugSampleInput[];
  /** Epoch milliseconds at which judge calls still in flight are abandoned. */
  deadline: number;
}

export interface ScoringDebugResult {
  traces: ScoringTrace[];
}

/** What the debug call answers: each sample as scored, with every step of its scoring. */
export const ScoringDebugView = Type.Object({
  dataset: nullable(Type.String()),
  metric: Type.String(),
  samples: Type.Array(
    Type.Object({
      id: nullable(Type.String()),
      question: Type.String(),
      prediction: Type.String(),
      reference: Type.String(),
      trace: ScoringTrace,
    }),
  ),
});
export type ScoringDebugView = Static<typeof ScoringDebugView>;
