/**
 * A comparison: several models (one evaluation each) evaluated on the same datasets in one task,
 * then ranked. It is built on runs: creating one launches one formal run per model, its progress
 * is the evaluated entries over models × entries, and its ranking combines each model's dataset
 * scores with weights per dataset and per metric the owner may adjust (scoring/weightedRanking.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Domain } from './domain';
import { RunStatusSchema } from './run';
import { DatasetScorerSchema } from './scoringConfig';
import { nullable, Timestamp, Uuid } from './common';
import { TokenUsage } from './tokens';

export const MAX_COMPARISON_MODELS = 20;
export const MAX_COMPARISON_DATASETS = 50;

const Weight = Type.Number({
  minimum: 0,
  description: 'a non-negative finite number; 0 leaves the dataset or metric out',
});

/**
 * Weights by dataset id and by metric name; a dataset or metric not named weighs 1. A dataset's
 * weight in the ranking is the product of its own weight and its metric's.
 */
export const RankingWeights = Type.Object(
  {
    datasets: Type.Optional(
      Type.Record(Type.String(), Weight, {
        description: "weight of each of the comparison's datasets, by id (default 1)",
      }),
    ),
    metrics: Type.Optional(
      Type.Record(Type.String(), Weight, {
        description: 'weight of every dataset scored by this metric, by name (default 1)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RankingWeights = Static<typeof RankingWeights>;

export const CreateComparisonBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'a name for the comparison, 1–128 characters' }),
    evaluationIds: Type.Array(Type.String({ description: 'one of your evaluations (one per model)' }), {
      minItems: 2,
      maxItems: MAX_COMPARISON_MODELS,
      description: `2–${MAX_COMPARISON_MODELS} of your evaluations, one per model, all of the same domain`,
    }),
    datasets: Type.Array(Type.String(), {
      minItems: 1,
      maxItems: MAX_COMPARISON_DATASETS,
      description: 'the datasets to run, each one every evaluation has',
    }),
    weights: Type.Optional(RankingWeights),
  },
  { additionalProperties: false },
);
export type CreateComparisonBody = Static<typeof CreateComparisonBody>;

export const Progress = Type.Object({
  done: Type.Integer({ description: 'entries evaluated (scored or failed)' }),
  total: Type.Integer(),
  fraction: Type.Number({ description: 'done / total, 0 to 1' }),
  percent: Type.Number(),
});
export type Progress = Static<typeof Progress>;

export const ComparisonModelView = Type.Object({
  position: Type.Integer(),
  evaluationId: Uuid,
  modelName: Type.String(),
  runId: Uuid,
  version: Type.Integer(),
  status: RunStatusSchema,
  progress: Progress,
  usage: TokenUsage,
});
export type ComparisonModelView = Static<typeof ComparisonModelView>;

export const ComparisonView = Type.Object({
  comparisonId: Uuid,
  name: Type.String(),
  domain: Domain,
  datasets: Type.Array(Type.String()),
  status: RunStatusSchema,
  createdAt: Timestamp,
  stopRequestedAt: nullable(Timestamp),
  progress: { ...Progress, description: 'evaluated entries over models × entries' },
  models: Type.Array(ComparisonModelView),
  weights: RankingWeights,
});
export type ComparisonView = Static<typeof ComparisonView>;

export const RankedDataset = Type.Object({
  dataset: Type.String(),
  task: Type.String(),
  metric: DatasetScorerSchema,
  status: RunStatusSchema,
  score: nullable(
    Type.Number({ description: 'the dataset score once it succeeded; null otherwise (it then counts as 0)' }),
  ),
  weight: Type.Number({
    description: "the dataset's share of the weighted score: the weights of all datasets sum to 1",
  }),
  customMetrics: Type.Optional(
    Type.Array(Type.Object({ name: Type.String(), value: Type.Number() }), {
      description:
        'a dataset evaluated by a custom image: every metric its metrics.json reported; score is its primary metric',
    }),
  ),
});
export type RankedDataset = Static<typeof RankedDataset>;

export const RankedModel = Type.Object({
  rank: Type.Integer({
    minimum: 1,
    description: '1 for the best; models with equal weighted scores share a rank (1, 2, 2, 4)',
  }),
  position: Type.Integer(),
  evaluationId: Uuid,
  modelName: Type.String(),
  runId: Uuid,
  status: RunStatusSchema,
  weightedScore: Type.Number(),
  complete: Type.Boolean({
    description: 'every dataset of positive weight has ended: the score will not change any more',
  }),
  datasets: Type.Array(RankedDataset),
});
export type RankedModel = Static<typeof RankedModel>;

export const RankingView = Type.Object({
  comparisonId: Uuid,
  status: RunStatusSchema,
  final: Type.Boolean({ description: "every model's run has ended: the ranking is final (for these weights)" }),
  weights: RankingWeights,
  models: Type.Array(RankedModel),
});
export type RankingView = Static<typeof RankingView>;
