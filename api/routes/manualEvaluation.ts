/**
 * The owner's side of a manual evaluation: see where a run's review stands, and launch it once the
 * run's subjective datasets are inferred. A launch takes one slot of the owner's monthly manual
 * quota in the same transaction that moves the review to in-review (race-free, see
 * db/queries/reviews.ts), honours Idempotency-Key like run launches, and then wakes the workflow.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import { ReviewSummarySchema, type ReviewStatus } from '../../contracts/review';
import { problems } from '../http/openapi';
import { visibleRun } from '../rules/visibleRun';
import { HttpProblem, statusTitle, tooManyRequests } from '../http/problems';
import type { OwnedRun } from '../../db/queries/runViews';
import { getReviewOfRun, launchReview, reviewSummary, type ReviewRow } from '../../db/queries/reviews';
import { quotaExhaustedMessage, quotaLimit, utcMonth } from '../../db/queries/quota';
import { idempotencyHeadersFor, idempotencyKeyReused, idempotencyOf } from '../http/idempotencyKey';
import { signalManualEvaluationLaunched } from '../gateways/reviewGateway';

const RunParams = Type.Object({ runId: Type.String({ description: 'the run id' }) });

export async function manualEvaluationRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const now = () => (deps.now ?? (() => new Date()))();

  const ownedRun = (caller: Caller, runId: string): Promise<OwnedRun> => visibleRun(deps.db, caller, runId);

  r.get(
    '/runs/:runId/manual-evaluation',
    {
      schema: {
        summary: "Where the run's manual evaluation stands",
        description:
          'A formal run of an SFT model over subjective datasets (e.g. zh-open-qa) waits after inference for its owner to launch the manual ' +
          'evaluation (status awaiting-launch, until launchDeadline), then for reviewers (in-review), and ends completed, abandoned, expired or cancelled.',
        tags: ['manual evaluation'],
        params: RunParams,
        response: { 200: ReviewSummarySchema, ...problems(403, 404) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request) => {
      const { run } = await ownedRun(request.caller, request.params.runId);
      const review = await getReviewOfRun(deps.db, run.id);
      if (!review)
        throw new HttpProblem(
          404,
          statusTitle(404),
          `run v${run.version} has no manual evaluation: ${noReviewReason(run.type)}`,
        );
      return reviewSummary(deps.db, review);
    },
  );

  r.post(
    '/runs/:runId/manual-evaluation',
    {
      schema: {
        summary: 'Launch the manual evaluation of the run’s subjective datasets',
        description:
          "Once the run's subjective datasets are inferred (status awaiting-launch), reviewers score their answers. Takes one slot of the run owner's " +
          'monthly manual-evaluation quota (UTC calendar month); 429 when it is used up. Send an Idempotency-Key to retry safely.',
        tags: ['manual evaluation'],
        params: RunParams,
        headers: idempotencyHeadersFor(
          'a retry with the same key answers with the manual evaluation the first request launched, and takes no second quota slot',
        ),
        response: { 202: ReviewSummarySchema, ...problems(400, 403, 404, 409, 422, 429, 503) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request, reply) => {
      const { run } = await ownedRun(request.caller, request.params.runId);
      const existing = await getReviewOfRun(deps.db, run.id);
      if (!existing) {
        throw new HttpProblem(
          422,
          statusTitle(422),
          `run v${run.version} has no manual evaluation: ${noReviewReason(run.type)}`,
          [
            {
              field: 'runId',
              message: `must name a formal run of an SFT model with a subjective dataset; ${noReviewReason(run.type)}`,
            },
          ],
        );
      }
      const month = utcMonth(now());
      const limit = quotaLimit(deps.env.quota, 'manual');
      const outcome = await launchReview(deps.db, {
        runId: run.id,
        launchedBy: request.caller.userId,
        month,
        limit,
        idempotency: idempotencyOf(request, request.caller.userId),
      });
      if (!outcome.ok) {
        if (outcome.reason === 'idempotency-mismatch') {
          throw idempotencyKeyReused('launch');
        }
        if (outcome.reason === 'quota-exhausted')
          throw tooManyRequests(quotaExhaustedMessage('manual', outcome.used, limit, month));
        throw new HttpProblem(409, statusTitle(409), notLaunchable(run.version, outcome.review), [
          { field: 'status', message: `is ${outcome.review.status}` },
        ]);
      }
      try {
        const delivery = await signalManualEvaluationLaunched(deps.temporal, run.id, {
          reviewId: outcome.review.id,
          launchedBy: request.caller.userId,
        });
        if (delivery === 'no-workflow')
          deps.logger.warn({ runId: run.id }, 'manual evaluation launched for a run without a workflow');
      } catch (error) {
        deps.logger.error({ runId: run.id, err: error }, 'manual evaluation signal failed');
        throw new HttpProblem(
          503,
          statusTitle(503),
          'the manual evaluation was launched (and the quota slot taken) but the workflow service could not be told; ' +
            'retry with the same Idempotency-Key, or the run notices by itself when its launch window ends',
        );
      }
      if (outcome.replayed) reply.header('idempotent-replayed', 'true');
      else deps.logger.info({ runId: run.id, reviewId: outcome.review.id }, 'manual evaluation launched');
      return reply.code(202).send(await reviewSummary(deps.db, outcome.review));
    },
  );
}

function noReviewReason(type: 'verification' | 'formal'): string {
  return type === 'verification'
    ? 'it is a verification, and manual evaluation is for formal runs'
    : 'it has no subjective dataset under review (subjective datasets are reviewed in formal runs of SFT models; base models score them automatically)';
}

const WHY_NOT: Record<ReviewStatus, string> = {
  pending: 'its subjective datasets are still being inferred; launch it once inference is done',
  'awaiting-launch': 'it is waiting for its launch',
  'in-review': 'it was already launched and is in review',
  completed: 'it was already launched and is completed',
  abandoned: 'it was abandoned by an admin',
  expired: 'its launch window has passed',
  cancelled: 'the run ended before it',
};

function notLaunchable(version: number, review: ReviewRow): string {
  return `the manual evaluation of run v${version} cannot be launched: ${WHY_NOT[review.status]}${review.note ? ` (${review.note})` : ''}`;
}
