/**
 * Tokens and what they cost: an API deployment's optional prices, the token totals a run view,
 * report and comparison show, the warnings a run collects when the model answering changes, and the
 * estimate a verification gives of the formal run (docs/tokens-and-cost.md).
 */
import { Type, type Static } from '@sinclair/typebox';
import { nullable, Timestamp, Uuid } from './common';

const perMillion = (what: string) =>
  Type.Number({
    minimum: 0,
    maximum: 1_000_000,
    description: `price of one million ${what} tokens, in the currency the prices are kept in; a number from 0 to 1,000,000`,
  });

export const Prices = Type.Object(
  {
    inputPerMillion: perMillion('prompt (input)'),
    outputPerMillion: perMillion('completion (output)'),
    currency: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 8,
        pattern: '^[A-Za-z]{1,8}$',
        description: 'a label for the currency, e.g. USD; 1–8 letters',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "optional prices of the endpoint's tokens; a run's cost is computed from them",
  },
);
export type Prices = Static<typeof Prices>;

/** Cost of so many tokens at these prices; null without prices. */
export function costOf(prices: Prices | null | undefined, promptTokens: number, completionTokens: number) {
  if (!prices) return null;
  return (promptTokens * prices.inputPerMillion + completionTokens * prices.outputPerMillion) / 1_000_000;
}

export const TokenUsage = Type.Object(
  {
    promptTokens: Type.Integer({ description: 'prompt (input) tokens of the samples answered so far' }),
    completionTokens: Type.Integer({ description: 'completion (output) tokens of the samples answered so far' }),
    samples: Type.Integer({ description: 'samples answered (failed samples carry no tokens)' }),
    countedSamples: Type.Integer({
      description:
        'of those, the samples whose tokens the platform counted (the endpoint reported no usage) with the approximation of docs/tokens-and-cost.md; the others are as the endpoint reported them',
    }),
    cost: nullable(Type.Number(), {
      description:
        "promptTokens × inputPerMillion / 10⁶ + completionTokens × outputPerMillion / 10⁶; null when the run's deployment has no prices",
    }),
    currency: nullable(Type.String()),
  },
  { description: "the model's tokens (judge calls are counted apart, in judgeUsage)" },
);
export type TokenUsage = Static<typeof TokenUsage>;

export const RunWarning = Type.Object({
  kind: Type.Literal('model-changed'),
  at: Timestamp,
  message: Type.String(),
  model: nullable(Type.String({ description: 'the `model` field of the answers from then on' })),
  systemFingerprint: nullable(Type.String({ description: 'their `system_fingerprint`' })),
  previousModel: nullable(Type.String()),
  previousSystemFingerprint: nullable(Type.String()),
});
export type RunWarning = Static<typeof RunWarning>;

const Range = Type.Object({
  expected: Type.Number(),
  low: Type.Number(),
  high: Type.Number(),
});
export type Range = Static<typeof Range>;

export const DatasetEstimate = Type.Object({
  dataset: Type.String(),
  items: Type.Integer({ description: 'items the formal run will ask (the whole dataset)' }),
  sampled: Type.Integer({ description: 'samples the verification answered, the basis of the estimate' }),
  seconds: Range,
  promptTokens: Range,
  completionTokens: Range,
  cost: nullable(Range),
});
export type DatasetEstimate = Static<typeof DatasetEstimate>;

export const RunEstimate = Type.Object({
  evaluationId: Uuid,
  basedOnRun: nullable(Type.Object({ runId: Uuid, version: Type.Integer(), endedAt: nullable(Timestamp) }), {
    description: 'the latest verification run with answered samples; null when there is none yet',
  }),
  maxConcurrency: Type.Integer(),
  datasets: Type.Array(DatasetEstimate),
  total: nullable(Type.Object({ seconds: Range, promptTokens: Range, completionTokens: Range, cost: nullable(Range) })),
  currency: nullable(Type.String()),
  missing: Type.Array(Type.String(), {
    description: 'datasets of the evaluation the verification did not answer; they are not in the totals',
  }),
  method: Type.String({ description: 'how the figures are computed and how far to trust them' }),
});
export type RunEstimate = Static<typeof RunEstimate>;
