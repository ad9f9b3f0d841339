/**
 * Datasets: everyone sees the built-ins and their own; anyone may register one from JSON Lines,
 * which is checked line by line before anything is stored.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import {
  DatasetList,
  DatasetView,
  RegisterDatasetBody,
  type RegisterDatasetBody as RegisterDatasetFields,
} from '../../contracts/dataset';
import { Domain } from '../../contracts/domain';
import { DatasetIdTaken, listVisibleDatasets, registerCustomDataset } from '../../db/queries/datasets';
import { DatasetFormatError, parseDatasetJsonl } from '../../datasets/jsonlParser';
import { datasetContentHash } from '../../datasets/contentHash';
import { BUILTIN_DATASET_IDS } from '../../datasets/builtinCatalog';
import { badRequest, conflict } from '../http/problems';
import { problems } from '../http/openapi';

/** Room for 100,000 items of a few hundred bytes each, with JSON escaping. */
export const DATASET_BODY_LIMIT = 64 * 1024 * 1024;

const DatasetQuery = Type.Object({ domain: Type.Optional(Domain) }, { additionalProperties: false });

export async function datasetsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: Static<typeof DatasetQuery> }>(
    '/datasets',
    {
      schema: {
        summary: 'Datasets the caller may evaluate on',
        description: 'Built-in datasets and the caller’s own (admins see all), ordered by domain, task and id.',
        tags: ['datasets'],
        querystring: DatasetQuery,
        response: { 200: DatasetList, ...problems(400) },
      },
    },
    async (request) => {
      const viewer = { userId: request.caller.userId, isAdmin: request.caller.role === 'admin' };
      return { items: await listVisibleDatasets(deps.db, viewer, { domain: request.query.domain }) };
    },
  );

  app.post<{ Body: RegisterDatasetFields }>(
    '/datasets',
    {
      bodyLimit: DATASET_BODY_LIMIT,
      schema: {
        summary: 'Register a custom dataset from JSON Lines',
        description:
          'Each line is an object with id, prompt, ground_truth and optional choices and metadata; every line must fit the metric. ' +
          'The dataset is visible to its owner (and admins). Dataset ids are unique platform-wide.',
        tags: ['datasets'],
        body: RegisterDatasetBody,
        response: { 201: DatasetView, ...problems(400, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { jsonl, ...fields } = request.body;
      let items;
      try {
        items = parseDatasetJsonl(jsonl, { metric: fields.metric });
      } catch (error) {
        if (error instanceof DatasetFormatError) throw badRequest('jsonl', error.message);
        throw error;
      }
      try {
        const view = await registerCustomDataset(deps.db, request.caller.userId, fields, items, {
          contentHash: datasetContentHash(items),
          reservedIds: BUILTIN_DATASET_IDS,
        });
        request.log.info({ datasetId: view.id, size: view.size, ownerId: request.caller.userId }, 'dataset registered');
        return reply.code(201).send(view);
      } catch (error) {
        if (error instanceof DatasetIdTaken) throw conflict(error.message, 'id');
        throw error;
      }
    },
  );
}
