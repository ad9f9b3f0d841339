/**
 * Launching runs of an evaluation: a verification (1–3 drawn samples per dataset, no quota) or a
 * formal evaluation (every sample, one slot of the owner's monthly quota). The routes translate the
 * request; the launch itself (plan, transaction, workflow start, compensation) is the launch
 * service's (api/launch/launchService.ts).
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { LaunchFormalBody, LaunchVerificationBody, LaunchedRun } from '../../contracts/run';
import { problems } from '../http/openapi';
import { badRequest } from '../http/problems';
import { idempotencyOf, IdempotencyHeaders } from '../http/idempotencyKey';
import { launchRun } from '../launch/launchService';
import type { LaunchKind } from '../launch/launchPlan';

/** Samples drawn per dataset when the request does not say: the most of the 1–3 the product calls for. */
export const DEFAULT_VERIFICATION_SAMPLES = 3;

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });

export async function runLaunchRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/evaluations/:id/verifications',
    {
      schema: {
        summary: 'Start an inference verification',
        description:
          `Runs the evaluation on a few samples of each dataset (samplesPerDataset, 1–3, default ${DEFAULT_VERIFICATION_SAMPLES}) ` +
          'so the model and its service can be checked before a formal launch. The samples are drawn with a seed ' +
          '(random unless given; dataset at position p draws with seed + p) that is recorded with the run. Uses no quota.',
        tags: ['runs'],
        params: EvaluationParams,
        body: LaunchVerificationBody,
        headers: IdempotencyHeaders,
        response: { 202: LaunchedRun, ...problems(400, 403, 404, 409, 422, 503) },
      },
      config: { roles: ['user', 'admin'] },
      // Every field has a default, so a request without a body asks for a default verification.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const body = request.body;
      const idempotency = idempotencyOf(request, request.caller.userId);
      const launched = await launchRun(
        deps,
        request.caller,
        request.params.id,
        {
          type: 'verification',
          samplesPerDataset: body.samplesPerDataset ?? DEFAULT_VERIFICATION_SAMPLES,
          seed: body.seed ?? randomInt(0, 2 ** 31 - 1),
        },
        idempotency,
      );
      if (launched.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(launched.result);
    },
  );

  r.post(
    '/evaluations/:id/runs',
    {
      schema: {
        summary: 'Launch a formal evaluation',
        description:
          "Evaluates every sample of every dataset. Takes one slot of the evaluation owner's monthly formal quota " +
          '(UTC calendar month); 429 when the month is used up. A dataset whose identical result (same model, dataset ' +
          'content, inference parameters, answer-changing limits and scoring) an earlier formal run of the owner finished ' +
          'is copied from that run instead of inferred again, unless the body says reuse: false. With limit, the run takes ' +
          'only limit.count items of each dataset (the first, or a draw seeded by limit.seed): a partial run, marked so in its ' +
          'views and report, neither reusing nor reused, and never admissible to a leaderboard. With mode inference-only, ' +
          'every dataset is inferred and its answers stored but nothing is scored (no judge, no code sandbox, no review, no ' +
          'metrics); the run takes a formal quota slot, is marked inference-only, is never admissible to a leaderboard, and ' +
          'GET /v1/runs/{id}/predictions/{datasetId} exports its answers in the predictions upload format. The body is optional.',
        tags: ['runs'],
        params: EvaluationParams,
        body: LaunchFormalBody,
        headers: IdempotencyHeaders,
        response: { 202: LaunchedRun, ...problems(400, 403, 404, 409, 422, 429, 503) },
      },
      config: { roles: ['user', 'admin'] },
      // Optional: a launch without a body reuses what it may.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const { limit, mode } = request.body;
      const kind: LaunchKind = {
        type: 'formal',
        ...(mode === 'inference-only' ? { inferenceOnly: true as const } : {}),
        ...(request.body.reuse === false ? { reuse: false } : {}),
        ...(limit
          ? {
              limit: {
                count: limit.count,
                sample: limit.sample ?? 'first',
                seed: limit.sample === 'random' ? (limit.seed ?? 0) : null,
              },
            }
          : {}),
      };
      if (limit && mode === 'inference-only')
        throw badRequest(
          'limit',
          'cannot be combined with mode inference-only: its predictions are exported to be uploaded, and an upload needs every item of a dataset',
        );
      if (limit?.seed !== undefined && limit.sample !== 'random')
        throw badRequest('limit.seed', 'is read only with limit.sample random (the first items need no seed)');
      const launched = await launchRun(
        deps,
        request.caller,
        request.params.id,
        kind,
        idempotencyOf(request, request.caller.userId),
      );
      if (launched.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(launched.result);
    },
  );
}
