/**
 * Predictions of an evaluation-only evaluation (`deployment.method: predictions`): the owner uploads
 * one JSON Lines file per dataset, each line {id, prediction} for an item of the dataset, every item
 * exactly once. A file is checked whole before anything is stored, and stored as a new set; a launch
 * scores the latest set of each dataset (docs/evaluation-modes.md).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { PredictionSetList, PredictionSetViewSchema, UploadPredictionsBody } from '../../contracts/predictions';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { getVisibleDatasets } from '../../db/queries/datasets';
import {
  datasetItemIds,
  insertPredictionSet,
  latestPredictionSets,
  toPredictionSetView,
} from '../../db/queries/predictions';
import { parsePredictionsJsonl, PredictionsFormatError } from '../../datasets/predictionsParser';
import { badRequest, conflict } from '../http/problems';
import { problems } from '../http/openapi';
import { DATASET_BODY_LIMIT } from './datasets';

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });
const DatasetParams = Type.Object({
  id: Type.String({ description: 'the evaluation id' }),
  datasetId: Type.String({ maxLength: 128, description: 'one of the evaluation’s datasets' }),
});

const access = { roles: ['user', 'admin'] } as const;

export async function predictionsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.put<{ Params: Static<typeof DatasetParams>; Body: UploadPredictionsBody }>(
    '/evaluations/:id/predictions/:datasetId',
    {
      bodyLimit: DATASET_BODY_LIMIT,
      schema: {
        summary: 'Upload the predictions of one dataset (evaluation only)',
        description:
          'For an evaluation whose deployment.method is predictions. jsonl holds one {"id", "prediction"} object per line, ' +
          'id naming an item of the dataset and prediction the answer to score; every item must have exactly one. ' +
          'A refused file names the line and field and stores nothing. Each upload is a new set; runs launched afterwards score it.',
        tags: ['evaluations'],
        params: DatasetParams,
        body: UploadPredictionsBody,
        response: { 201: PredictionSetViewSchema, ...problems(400, 403, 404, 409, 413, 415) },
      },
      config: access,
    },
    async (request, reply) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      if (evaluation.deployment.method !== 'predictions') {
        throw conflict(
          `predictions are uploaded to evaluation-only evaluations; this evaluation's deployment.method is ${evaluation.deployment.method}`,
          'deployment.method',
        );
      }
      const { datasetId } = request.params;
      if (!evaluation.datasetIds.includes(datasetId)) {
        throw badRequest(
          'datasetId',
          `"${datasetId}" is not one of the evaluation's datasets (${evaluation.datasetIds.join(', ')})`,
        );
      }
      const [dataset] = await getVisibleDatasets(deps.db, { userId: evaluation.ownerId, isAdmin: false }, [datasetId]);
      if (!dataset)
        throw badRequest(
          'datasetId',
          `dataset "${datasetId}" no longer exists or is not visible to the evaluation's owner`,
        );

      let byIndex: string[];
      try {
        byIndex = parsePredictionsJsonl(request.body.jsonl, await datasetItemIds(deps.db, datasetId), datasetId);
      } catch (error) {
        if (error instanceof PredictionsFormatError) {
          throw badRequest(
            error.line > 0 && error.field !== 'jsonl' ? `jsonl[${error.line}].${error.field}` : 'jsonl',
            error.message,
          );
        }
        throw error;
      }
      const view = await insertPredictionSet(
        deps.db,
        { evaluationId: evaluation.id, datasetId, datasetContentHash: dataset.contentHash },
        byIndex,
      );
      request.log.info(
        { evaluationId: evaluation.id, datasetId, setId: view.setId, items: view.items },
        'predictions uploaded',
      );
      return reply.code(201).send(view);
    },
  );

  app.get<{ Params: Static<typeof EvaluationParams> }>(
    '/evaluations/:id/predictions',
    {
      schema: {
        summary: 'The latest uploaded predictions of each dataset (evaluation only)',
        description: 'One entry per dataset that has predictions; the predictions themselves are not returned.',
        tags: ['evaluations'],
        params: EvaluationParams,
        response: { 200: PredictionSetList, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id, { deleted: 'readable' });
      const latest = await latestPredictionSets(deps.db, evaluation.id);
      return { items: [...latest.values()].map(toPredictionSetView) };
    },
  );
}
