/**
 * A comparison: several models (one evaluation each) evaluated on the same datasets in one task,
 * then ranked. It is built on runs: creating one launches one formal run per model, its progress
 * is the evaluated entries over models × entries, and its ranking combines each model's dataset
 * scores with weights per dataset and per metric the owner may adjust (scoring/weightedRanking.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Domain } from './domain';
import type { RunStatus } from './run';
import type { ScoringMetric } from './scoringConfig';

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

export interface Progress {
  /** Entries evaluated (scored or failed). */
  done: number;
  total: number;
  /** done / total, from 0 to 1. */
  fraction: number;
  percent: number;
}

export interface ComparisonModelView {
  position: number;
  evaluationId: string;
  modelName: string;
  runId: string;
  version: number;
  status: RunStatus;
  progress: Progress;
}

export interface ComparisonView {
  comparisonId: string;
  name: string;
  domain: Domain;
  datasets: string[];
  status: RunStatus;
  createdAt: string;
  stopRequestedAt: string | null;
  /** Evaluated entries over models × entries. */
  progress: Progress;
  models: ComparisonModelView[];
  weights: RankingWeights;
}

export interface RankedDataset {
  dataset: string;
  task: string;
  metric: ScoringMetric;
  status: RunStatus;
  /** The dataset's score once it succeeded; null otherwise (it then counts as 0). */
  score: number | null;
  /** Its share of the weighted score: the weights of all datasets sum to 1. */
  weight: number;
}

export interface RankedModel {
  /** 1 for the best; models with equal weighted scores share a rank (1, 2, 2, 4). */
  rank: number;
  position: number;
  evaluationId: string;
  modelName: string;
  runId: string;
  status: RunStatus;
  weightedScore: number;
  /** Every dataset of positive weight has ended: the score will not change any more. */
  complete: boolean;
  datasets: RankedDataset[];
}

export interface RankingView {
  comparisonId: string;
  status: RunStatus;
  /** Every model's run has ended: the ranking is final (for these weights). */
  final: boolean;
  weights: RankingWeights;
  models: RankedModel[];
}
