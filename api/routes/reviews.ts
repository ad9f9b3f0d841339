/**
 * The reviewers' side of manual evaluation: the work queue, one review with its answers, scoring
 * (points on the rubric scale, with a comment; scoring again overwrites), completion once every
 * answer is scored (recorded, then sent to the run's workflow as an update), and an admin's
 * abandonment. Nobody reviews a run of their own model.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import {
  AbandonReviewBody,
  REVIEW_STATUSES,
  ReviewDetailSchema,
  ReviewList,
  ReviewStatusSchema,
  ReviewSummarySchema,
  ScoredItems,
  ScoreItemsBody,
  type ReviewStatus,
} from '../../contracts/review';
import { problems } from '../http/openapi';
import { HttpProblem, conflict, forbidden, notFound, statusTitle, validationProblem } from '../http/problems';
import {
  abandonReview,
  completeReview,
  getReview,
  listReviews,
  reviewDetail,
  reviewSummary,
  scoreItems,
  type EndReviewOutcome,
  type ReviewRow,
} from '../../db/queries/reviews';
import { signalManualReviewAbandoned, updateManualReviewCompleted } from '../gateways/reviewGateway';

const ReviewParams = Type.Object({ reviewId: Type.String({ description: 'the review id' }) });
const DEFAULT_LIST = 100;

const ListQuery = Type.Object(
  {
    status: Type.Optional(ReviewStatusSchema),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 500,
        default: DEFAULT_LIST,
        description: 'must be an integer from 1 to 500',
      }),
    ),
  },
  { additionalProperties: false },
);

const reviewers = { roles: ['reviewer', 'admin'] };

export async function reviewsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  const found = async (reviewId: string): Promise<ReviewRow> => {
    const review = await getReview(deps.db, reviewId);
    if (!review) throw notFound('review');
    return review;
  };
  /** The rule of independent review: an owner never scores the answers of their own model. */
  const notOwnModel = (caller: Caller, review: ReviewRow): void => {
    if (review.ownerId === caller.userId) {
      throw forbidden(
        'reviewers may not review runs of their own models: you own the evaluation of this run; another reviewer must take it',
      );
    }
  };

  r.get(
    '/reviews',
    {
      schema: {
        summary: 'Manual-evaluation work, oldest first',
        description: `Reviews in one status (default in-review: launched and waiting for scores). Statuses: ${REVIEW_STATUSES.join(', ')}.`,
        tags: ['manual evaluation'],
        querystring: ListQuery,
        response: { 200: ReviewList, ...problems(400, 403) },
      },
      config: reviewers,
    },
    async (request) => {
      const status: ReviewStatus = request.query.status ?? 'in-review';
      return { items: await listReviews(deps.db, [status], request.query.limit ?? DEFAULT_LIST) };
    },
  );

  r.get(
    '/reviews/:reviewId',
    {
      schema: {
        summary: 'A review with its items: question, the model’s answer, reference, rubric, and any score given',
        tags: ['manual evaluation'],
        params: ReviewParams,
        response: { 200: ReviewDetailSchema, ...problems(403, 404) },
      },
      config: reviewers,
    },
    async (request) => {
      const review = await found(request.params.reviewId);
      notOwnModel(request.caller, review);
      return reviewDetail(deps.db, review);
    },
  );

  r.post(
    '/reviews/:reviewId/scores',
    {
      schema: {
        summary: 'Score answers of a review in progress',
        description:
          'Each score names an item (dataset and itemId) and gives whole points from 0 to 5 on the rubric scale (GET the review for it), with an optional ' +
          'comment. Scoring an item again overwrites its score. The review must be in review.',
        tags: ['manual evaluation'],
        params: ReviewParams,
        body: ScoreItemsBody,
        response: { 200: ScoredItems, ...problems(400, 403, 404, 409) },
      },
      config: reviewers,
    },
    async (request) => {
      const review = await found(request.params.reviewId);
      notOwnModel(request.caller, review);
      const outcome = await scoreItems(deps.db, review, request.caller.userId, request.body.scores);
      if (!outcome.ok) {
        if (outcome.reason === 'not-in-review')
          throw conflict(`the review is ${outcome.status}; only a review in review takes scores`, 'status');
        throw validationProblem(
          outcome.indices.map((i) => ({
            field: `scores[${i}].itemId`,
            message: `must name an answered item of the review's datasets (${review.datasetIds.join(', ')})`,
          })),
        );
      }
      return { reviewId: review.id, progress: { total: outcome.total, scored: outcome.scored } };
    },
  );

  r.post(
    '/reviews/:reviewId/complete',
    {
      schema: {
        summary: 'Complete a review whose every answer is scored; the run then closes with the reviewers’ scores',
        tags: ['manual evaluation'],
        params: ReviewParams,
        response: { 200: ReviewSummarySchema, ...problems(403, 404, 409) },
      },
      config: reviewers,
    },
    async (request) => {
      const review = await found(request.params.reviewId);
      notOwnModel(request.caller, review);
      const ended = endedOrRefused(await completeReview(deps.db, review.id, request.caller.userId), 'completed');
      const delivery = await updateManualReviewCompleted(deps.temporal, ended.runId, {
        reviewId: ended.id,
        completedBy: request.caller.userId,
      }).catch((error: unknown) => {
        // Recorded already: the run reads it at its next timer (the next reminder).
        deps.logger.error({ runId: ended.runId, err: error }, 'review completion update not delivered');
        return 'undelivered';
      });
      deps.logger.info({ runId: ended.runId, reviewId: ended.id, delivery }, 'review completed');
      return reviewSummary(deps.db, ended);
    },
  );

  r.post(
    '/reviews/:reviewId/abandon',
    {
      schema: {
        summary: 'Give a waiting manual evaluation up (admins)',
        description:
          "The run closes with its subjective datasets unscored and marked abandoned. A launched review gives the owner's manual quota slot back.",
        tags: ['manual evaluation'],
        params: ReviewParams,
        body: AbandonReviewBody,
        response: { 200: ReviewSummarySchema, ...problems(400, 403, 404, 409) },
      },
      config: { roles: ['admin'] },
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) => {
      const review = await found(request.params.reviewId);
      const note = request.body.reason ?? `given up by ${request.caller.name}`;
      const ended = endedOrRefused(await abandonReview(deps.db, review.id, request.caller.userId, note), 'abandoned');
      await signalManualReviewAbandoned(deps.temporal, ended.runId, {
        reviewId: ended.id,
        abandonedBy: request.caller.userId,
      }).catch((error: unknown) => {
        deps.logger.error({ runId: ended.runId, err: error }, 'review abandonment signal not delivered');
      });
      deps.logger.info({ runId: ended.runId, reviewId: ended.id }, 'review abandoned');
      return reviewSummary(deps.db, ended);
    },
  );
}

function endedOrRefused(outcome: EndReviewOutcome, as: 'completed' | 'abandoned'): ReviewRow {
  if (outcome.ok) return outcome.review;
  if (outcome.reason === 'unscored') {
    throw new HttpProblem(
      409,
      statusTitle(409),
      `${outcome.missing} of ${outcome.total} answers are not scored yet; score every answer before completing the review`,
      [{ field: 'scores', message: `${outcome.missing} of ${outcome.total} answers are not scored yet` }],
    );
  }
  const what =
    as === 'completed'
      ? 'only a review in review can be completed'
      : 'only a review that has not ended can be abandoned';
  throw conflict(`the review is ${outcome.status}; ${what}`, 'status');
}
