/**
 * Manual evaluation of subjective datasets: what the API, the run workflow and the review
 * activities agree on. A formal run of an SFT model over a subjective dataset infers it like any
 * other, then waits: its owner launches the manual evaluation (one slot of the monthly manual
 * quota), reviewers score every answer on the rubric scale below and complete the review, and the
 * run closes with the reviewers' scores as that dataset's metrics.
 */
import { Type, type Static } from '@sinclair/typebox';

/**
 * pending → awaiting-launch → in-review → completed, with two ways out of waiting: abandoned (an
 * admin gave it up) and expired (the owner did not launch it in time); cancelled when the run ended
 * otherwise (stopped, failed, or the subjective datasets stored no answer).
 */
export const REVIEW_STATUSES = [
  'pending',
  'awaiting-launch',
  'in-review',
  'completed',
  'abandoned',
  'expired',
  'cancelled',
] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export const FINAL_REVIEW_STATUSES: readonly ReviewStatus[] = ['completed', 'abandoned', 'expired', 'cancelled'];

export const ReviewStatusSchema = Type.Union(
  [
    Type.Literal('pending'),
    Type.Literal('awaiting-launch'),
    Type.Literal('in-review'),
    Type.Literal('completed'),
    Type.Literal('abandoned'),
    Type.Literal('expired'),
    Type.Literal('cancelled'),
  ],
  { description: `one of ${REVIEW_STATUSES.join(', ')}` },
);

/**
 * The rubric scale: whole points from 0 to 5, normalised to [0, 1] as points / 5 for the dataset's
 * score, so reviewed datasets average with automatically scored ones.
 */
export const RUBRIC_MIN = 0;
export const RUBRIC_MAX = 5;
export const RUBRIC_SCALE = [
  '0: no answer, off-topic, or wrong in substance',
  '1: touches the question but mostly wrong or unusable',
  '2: partly right, with major errors or omissions',
  '3: the core is right, with notable gaps or inaccuracies',
  '4: right and complete, with minor flaws of accuracy or wording',
  '5: right, complete and clearly written in fluent Chinese',
] as const;

export function normalisedPoints(points: number): number {
  return (points - RUBRIC_MIN) / (RUBRIC_MAX - RUBRIC_MIN);
}

/** What the workflow learns when the gate is planned at the start of a run. */
export interface ReviewPlan {
  /** False: the run has nothing to review, and the gate does nothing more. */
  reviewed: boolean;
  /** The review's id, when reviewed. */
  reviewId: string | null;
  datasetIds: string[];
}

/**
 * Where a review stands as the record says, with the waits the workflow needs computed from the
 * record's timestamps by an activity, so they reach the workflow deterministically.
 */
export interface ReviewGateState {
  status: ReviewStatus;
  /** awaiting-launch: time left before the launch window closes. */
  launchWindowLeftMs: number | null;
  /** in-review: time until reviewers are (again) reminded. */
  reminderInMs: number | null;
  /** Reminders sent so far; the next one is reminders + 1. */
  reminders: number;
}

export interface ManualEvaluationLaunchedArgs {
  reviewId: string;
  launchedBy: string;
}

export interface ReviewCompletedArgs {
  reviewId: string;
  completedBy: string;
}

export interface ReviewAbandonedArgs {
  reviewId: string;
  abandonedBy: string;
}

export const ScoreItemsBody = Type.Object(
  {
    scores: Type.Array(
      Type.Object(
        {
          dataset: Type.String({ minLength: 1, maxLength: 64, description: 'must be a dataset id of the review' }),
          itemId: Type.String({
            minLength: 1,
            maxLength: 128,
            description: "must be an item id of the review's dataset",
          }),
          score: Type.Integer({
            minimum: RUBRIC_MIN,
            maximum: RUBRIC_MAX,
            description: `must be a whole number of points from ${RUBRIC_MIN} to ${RUBRIC_MAX}`,
          }),
          comment: Type.Optional(Type.String({ maxLength: 4000, description: 'must be at most 4,000 characters' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500, description: 'must hold 1–500 scores' },
    ),
  },
  { additionalProperties: false },
);
export type ScoreItemsBody = Static<typeof ScoreItemsBody>;

export const AbandonReviewBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'must be 1–1,000 characters' })) },
  { additionalProperties: false },
);
export type AbandonReviewBody = Static<typeof AbandonReviewBody>;

const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const timestamp = Type.String({ format: 'date-time' });

export const ReviewSummarySchema = Type.Object({
  reviewId: Type.String({ format: 'uuid' }),
  runId: Type.String({ format: 'uuid' }),
  runVersion: Type.Integer(),
  modelName: Type.String(),
  status: ReviewStatusSchema,
  datasets: Type.Array(Type.String()),
  progress: Type.Object({
    total: Type.Integer({ description: 'answers to score (samples that failed have no answer and score 0)' }),
    scored: Type.Integer(),
  }),
  launchDeadline: nullable(timestamp),
  launchedAt: nullable(timestamp),
  endedAt: nullable(timestamp),
  note: nullable(Type.String({ description: 'why the review was abandoned, expired or cancelled' })),
  createdAt: timestamp,
});
export type ReviewSummary = Static<typeof ReviewSummarySchema>;

export const ReviewItemSchema = Type.Object({
  dataset: Type.String(),
  itemId: Type.String(),
  question: Type.String(),
  answer: Type.String({ description: "the model's answer" }),
  reference: Type.String({ description: 'a reference answer: one good answer, not the only one' }),
  rubric: Type.String({ description: 'what a good answer must contain' }),
  score: Type.Union([Type.Integer(), Type.Null()], {
    description: `points ${RUBRIC_MIN}–${RUBRIC_MAX}; null until scored`,
  }),
  comment: Type.Union([Type.String(), Type.Null()]),
  scoredBy: Type.Union([Type.String(), Type.Null()], { description: 'name of the reviewer who gave the score' }),
  scoredAt: Type.Union([timestamp, Type.Null()]),
});
export type ReviewItem = Static<typeof ReviewItemSchema>;

export const ReviewDetailSchema = Type.Composite([
  ReviewSummarySchema,
  Type.Object({
    rubricScale: Type.Array(Type.String()),
    items: Type.Array(ReviewItemSchema),
  }),
]);
export type ReviewDetail = Static<typeof ReviewDetailSchema>;

export const ReviewList = Type.Object({ items: Type.Array(ReviewSummarySchema) });

/** What scoring answers: how far the review has come. */
export const ScoredItems = Type.Object({
  reviewId: Type.String({ format: 'uuid' }),
  progress: Type.Object({ total: Type.Integer(), scored: Type.Integer() }),
});
export type ScoredItems = Static<typeof ScoredItems>;
