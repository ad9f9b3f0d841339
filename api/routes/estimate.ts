/**
 * GET /v1/evaluations/{id}/estimate: the formal run's time, tokens and cost as the latest
 * verification run foretells them, to read before launching it (docs/tokens-and-cost.md).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { DEFAULT_LIMITS } from '../../contracts/evaluation';
import { RunEstimate } from '../../contracts/tokens';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { datasetSizes, latestVerificationFigures } from '../../db/queries/runEstimate';
import { runEstimate } from '../views/runEstimate';
import { problems } from '../http/openapi';

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });

export async function estimateRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/evaluations/:id/estimate',
    {
      schema: {
        summary: "The formal run's time, tokens and cost, extrapolated from the latest verification run",
        description:
          "Each dataset's answered verification samples give a mean time, prompt and completion tokens per sample, scaled to " +
          "every item of the dataset at the evaluation's maxConcurrency and priced at its current prices. Ranges are two " +
          'standard errors either side; `method` says how and how far to trust it. With no verification run that answered, ' +
          'basedOnRun and total are null and every dataset is listed in missing.',
        tags: ['evaluations'],
        params: EvaluationParams,
        response: { 200: RunEstimate, ...problems(403, 404, 410) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      const [figures, sizes] = await Promise.all([
        latestVerificationFigures(deps.db, evaluation.id),
        datasetSizes(deps.db, evaluation.datasetIds),
      ]);
      const deployment = evaluation.deployment;
      return runEstimate({
        evaluationId: evaluation.id,
        basedOnRun: figures
          ? { runId: figures.run.runId, version: figures.run.version, endedAt: figures.run.endedAt }
          : null,
        datasetIds: evaluation.datasetIds,
        sizes,
        verified: figures?.datasets ?? new Map(),
        maxConcurrency: { ...DEFAULT_LIMITS, ...evaluation.limits }.maxConcurrency,
        prices: deployment.method === 'api' ? (deployment.prices ?? null) : null,
      });
    },
  );
}
