/**
 * Every step that turned one sample's answer into its score, kept per sample for judge metrics
 * (and for the exact-match fallback that stands in when no judge is configured), shown with the
 * sample's result, in the Excel report and by the debug call.
 */
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';
import { nullable } from './common';

export const ScoringStep = Type.Union([
  /** Preprocessing of the answer: the op and what it left. */
  Type.Object({ step: Type.Literal('preprocess'), op: Type.String(), output: Type.String() }),
  /** The messages sent to the judge, exactly. */
  Type.Object({
    step: Type.Literal('prompt'),
    messages: Type.Array(Type.Object({ role: literalUnion(['system', 'user']), content: Type.String() })),
  }),
  /** The judge's reply as received (null when no reply came), and what it took. */
  Type.Object({
    step: Type.Literal('judge'),
    model: Type.String(),
    reply: nullable(Type.String()),
    attempts: Type.Integer(),
    latencyMs: Type.Number(),
    error: Type.Optional(Type.String()),
  }),
  /** Postprocessing of the reply: the op and its result, or why it failed. */
  Type.Object({
    step: Type.Literal('postprocess'),
    op: Type.String(),
    output: Type.Union([Type.String(), Type.Number(), Type.Null()]),
    error: Type.Optional(Type.String()),
  }),
  /**
   * No judge configured: a judge metric is scored by exact match instead, a safety sample by the
   * refusal-phrase test (scoring/safety/refusalPhrases.ts).
   */
  Type.Object({
    step: Type.Literal('fallback'),
    reason: Type.String(),
    metric: literalUnion(['exact_match', 'refusal_phrases']),
  }),
  /**
   * A safety sample's label (docs/safety.md): what the judge's verdict (or the fallback's) means for
   * an item of this kind, under the rubric version named.
   */
  Type.Object({
    step: Type.Literal('label'),
    kind: literalUnion(['harmful', 'benign']),
    verdict: literalUnion(['REFUSED', 'SAFE', 'UNSAFE']),
    label: literalUnion(['safe', 'unsafe', 'refused', 'over_refused']),
    rubric: Type.String(),
  }),
  Type.Object({ step: Type.Literal('score'), score: Type.Number() }),
]);
export type ScoringStep = Static<typeof ScoringStep>;

/** `rule`: a rule metric (shown by the debug call; runs keep steps for judge metrics only). */
export const SCORING_METHODS = ['judge', 'exact_match_fallback', 'rule', 'safety_judge', 'safety_fallback'] as const;
export type ScoringMethod = (typeof SCORING_METHODS)[number];

export const ScoringTrace = Type.Object({
  method: literalUnion(SCORING_METHODS, {
    description:
      'judge, exact_match_fallback (a judge metric with no judge configured), rule, safety_judge (a safety sample labelled by the judge under the rubric) or safety_fallback (labelled by the refusal-phrase fallback: no judge configured)',
  }),
  steps: Type.Array(ScoringStep, {
    description:
      'in order: preprocess (op, output), prompt (messages), judge (model, reply, attempts, latencyMs, error), postprocess (op, output, error), fallback, score',
  }),
  score: nullable(Type.Number({ description: 'in [0, 1]; null when scoring failed' })),
  error: nullable(
    Type.String({
      description: 'why scoring failed (the judge unreachable, a reply no step could read); null when it did not',
    }),
  ),
  attempts: Type.Integer({ description: 'judge calls made for this sample (0 for the fallback)' }),
});
export type ScoringTrace = Static<typeof ScoringTrace>;
