/**
 * Settings a dataset may give its metric. One object for all metrics, since a dataset has exactly
 * one metric and each reads only its own keys; a missing key means the metric's default.
 */
import { Type, type Static } from '@sinclair/typebox';

export const MetricOptions = Type.Object(
  {
    absoluteTolerance: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          'numeric_match: must be a number ≥ 0, the largest absolute difference still counted equal (default 1e-9)',
      }),
    ),
    relativeTolerance: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          'numeric_match: must be a number from 0 to 1, the largest difference relative to the larger magnitude still counted equal (default 1e-6)',
      }),
    ),
    n: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: 'pass_at_k: must be an integer from 1 to 100, the completions asked per problem (default 1)',
      }),
    ),
    ks: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 100, description: 'must be an integer from 1 to 100' }), {
        minItems: 1,
        maxItems: 10,
        description:
          'pass_at_k: must be 1–10 integers, each at most n, the k of each pass@k reported (pass@1 always is)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MetricOptions = Static<typeof MetricOptions>;
