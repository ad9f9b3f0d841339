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
  type DatasetItem,
  type RegisterDatasetBody as RegisterDatasetFields,
  DatasetItemPage,
  isBackboneMetric,
  isMultimodalMetric,
  type MultimodalMetricName,
  SAFETY_METRIC,
} from '../../contracts/dataset';
import {
  checkMultimodalDataset,
  MultimodalDatasetError,
  picturesDigest,
  type DatasetPicture,
} from '../../datasets/multimodalDataset';
import { Domain, DOMAIN_RULES } from '../../contracts/domain';
import {
  DatasetIdTaken,
  getDatasetItemsPage,
  getVisibleDatasets,
  loadDatasetPicture,
  listVisibleDatasets,
  deleteCustomDataset,
  registerCustomDataset,
} from '../../db/queries/datasets';
import { DatasetFormatError, parseDatasetJsonl } from '../../datasets/jsonlParser';
import { datasetContentHash } from '../../datasets/contentHash';
import { BUILTIN_DATASET_IDS } from '../../datasets/builtinCatalog';
import { unavailableBuiltinReason } from '../rules/unavailableDatasets';
import { badRequest, conflict, notFound } from '../http/problems';
import { problems } from '../http/openapi';
import { createHash } from 'node:crypto';

/** Room for 100,000 items of a few hundred bytes each, with JSON escaping. */
export const DATASET_BODY_LIMIT = 64 * 1024 * 1024;

const DatasetQuery = Type.Object({ domain: Type.Optional(Domain) }, { additionalProperties: false });

const DatasetParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ItemsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'must be an integer from 1 to 500' }),
    cursor: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,9}$', description: 'must be the nextCursor of an earlier page' }),
    ),
  },
  { additionalProperties: false },
);
/** What a non-admin sees of a built-in's metadata: enough to read the item, not its answer. */
const PUBLIC_BUILTIN_METADATA = ['task', 'images', 'questionType'];

const PictureParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  name: Type.String({ minLength: 1, maxLength: 128 }),
});

export async function datasetsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Params: Static<typeof PictureParams> }>(
    '/datasets/:id/pictures/:name',
    {
      schema: {
        summary: 'One picture of a multimodal dataset, as its items name it (metadata.images)',
        description: 'The PNG a model is shown with the items that name it; a built-in draws it from its scene.',
        tags: ['datasets'],
        params: PictureParams,
        response: {
          200: {
            description: 'the PNG file',
            content: { 'image/png': { schema: { type: 'string', format: 'binary' } } },
          },
          ...problems(403, 404),
        },
      },
    },
    async (request, reply) => {
      const isAdmin = request.caller.role === 'admin';
      const { id, name } = request.params;
      const [dataset] = await getVisibleDatasets(deps.db, { userId: request.caller.userId, isAdmin }, [id]);
      if (!dataset) throw notFound(`dataset ${id}`);
      const png = await loadDatasetPicture(deps.db, id, name);
      if (!png) throw notFound(`picture ${name} of dataset ${id}`);
      return reply.type('image/png').header('cache-control', 'private, max-age=3600').send(png);
    },
  );

  app.get<{ Params: Static<typeof DatasetParams>; Querystring: Static<typeof ItemsQuery> }>(
    '/datasets/:id/items',
    {
      schema: {
        summary: "A page of a dataset's items, in order",
        description:
          'Items of a dataset the caller may see (built-ins, their own; admins any). A built-in keeps its test labels: ' +
          'non-admins get no groundTruth and only the task, picture names and question type of its metadata. ' +
          'A built-in public benchmark this deployment has not installed is a 409 naming it.',
        tags: ['datasets'],
        params: DatasetParams,
        querystring: ItemsQuery,
        response: { 200: DatasetItemPage, ...problems(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const isAdmin = request.caller.role === 'admin';
      const [dataset] = await getVisibleDatasets(deps.db, { userId: request.caller.userId, isAdmin }, [
        request.params.id,
      ]);
      const unavailable = dataset ? null : unavailableBuiltinReason(request.params.id);
      if (unavailable) throw conflict(unavailable, 'id');
      if (!dataset) throw notFound(`dataset ${request.params.id}`);
      const { limit, cursor } = request.query;
      const rows = await getDatasetItemsPage(
        deps.db,
        dataset.id,
        cursor === undefined ? -1 : Number(cursor),
        limit + 1,
      );
      const page = rows.slice(0, limit);
      const labelsHidden = dataset.builtin && !isAdmin;
      return {
        items: page.map((row) => ({
          index: row.idx,
          id: row.itemId,
          prompt: row.prompt,
          choices: row.choices,
          ...(labelsHidden ? {} : { groundTruth: row.groundTruth }),
          metadata:
            row.metadata && labelsHidden
              ? Object.fromEntries(Object.entries(row.metadata).filter(([k]) => PUBLIC_BUILTIN_METADATA.includes(k)))
              : row.metadata,
        })),
        nextCursor: rows.length > limit ? String(page[page.length - 1]!.idx) : null,
      };
    },
  );

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

  app.delete<{ Params: Static<typeof DatasetParams> }>(
    '/datasets/:id',
    {
      schema: {
        summary: 'Delete a custom dataset no run and no evaluation uses',
        description:
          'Its owner (or an admin) deletes it with its items and pictures, and any predictions uploaded for it. Built-in datasets ' +
          'cannot be deleted (409); neither can one a run used (runs keep what they were scored on) or an evaluation lists (409 ' +
          'naming them: edit their datasets first). Someone else’s dataset is a 404.',
        tags: ['datasets'],
        params: DatasetParams,
        response: { 204: Type.Null(), ...problems(403, 404, 409) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request, reply) => {
      const viewer = { userId: request.caller.userId, isAdmin: request.caller.role === 'admin' };
      const outcome = await deleteCustomDataset(deps.db, viewer, request.params.id);
      if (!outcome.ok && outcome.reason === 'builtin')
        throw conflict(`${request.params.id} is a built-in dataset; built-in datasets cannot be deleted`);
      if (!outcome.ok) {
        const uses = [
          outcome.runs > 0 ? `${outcome.runs} run(s), which keep what they were scored on` : null,
          outcome.evaluations.length > 0
            ? `${outcome.evaluations.length} evaluation(s) that list it (${outcome.evaluations.slice(0, 5).join(', ')}${outcome.evaluations.length > 5 ? ', …' : ''}); edit their datasets first`
            : null,
        ].filter((u): u is string => u !== null);
        throw conflict(`${request.params.id} is used by ${uses.join(' and by ')}, so it cannot be deleted`);
      }
      request.log.info({ datasetId: request.params.id }, 'dataset deleted');
      return reply.code(204).send();
    },
  );

  app.post<{ Body: RegisterDatasetFields }>(
    '/datasets',
    {
      bodyLimit: DATASET_BODY_LIMIT,
      schema: {
        summary: 'Register a custom dataset from JSON Lines, or name a benchmark a custom evaluation image brings',
        description:
          'Each line is an object with id, prompt, ground_truth and optional choices and metadata; every line must fit the metric. ' +
          'With source image and no jsonl, the dataset names a benchmark a custom evaluation image brings: it has no items and only ' +
          'evaluations scored by a custom image can run it. ' +
          'The dataset is visible to its owner (and admins). Dataset ids are unique platform-wide.',
        tags: ['datasets'],
        body: RegisterDatasetBody,
        response: { 201: DatasetView, ...problems(400, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { jsonl, pictures: encodedPictures, ...fields } = request.body;
      const unavailable = DOMAIN_RULES[fields.domain].unavailable;
      if (unavailable) throw badRequest('domain', `${unavailable} (rule of domain ${fields.domain})`);
      if (fields.domain === 'cv' || fields.domain === 'audio')
        throw badRequest(
          'domain',
          `a ${fields.domain === 'cv' ? 'CV' : 'Audio'} backbone is fine-tuned and scored on the platform's built-in datasets, which bring ` +
            `train, validation and test splits of ${fields.domain === 'cv' ? 'pictures' : 'recordings'}; custom datasets of this domain are not taken (docs/backbones.md) (rule of domain ${fields.domain})`,
        );
      if (isBackboneMetric(fields.metric))
        throw badRequest(
          'metric',
          `${fields.metric} is reported by a backbone's fine-tune job on a built-in CV or Audio dataset; a custom dataset cannot use it`,
        );
      if (fields.metric === SAFETY_METRIC && fields.domain !== 'safety')
        throw badRequest(
          'metric',
          "safety labels answers under the safety rubric (docs/safety.md): the dataset's domain must be safety",
        );
      const multimodal = isMultimodalMetric(fields.metric) && fields.source !== 'image';
      if (multimodal && fields.domain !== 'multimodal')
        throw badRequest(
          'metric',
          `${fields.metric} scores answers about pictures: the dataset's domain must be multimodal`,
        );
      if (encodedPictures !== undefined && !multimodal)
        throw badRequest(
          'pictures',
          'are taken only by a multimodal dataset scored by vqa_accuracy or retrieval_recall (docs/multimodal.md)',
        );
      let items: DatasetItem[] = [];
      if (fields.source === 'image') {
        // The image brings the benchmark: this dataset only names it (docs/custom-evaluation-images.md).
        if (jsonl !== undefined)
          throw badRequest('jsonl', 'must be left out with source image: the custom evaluation image brings the items');
      } else {
        if (jsonl === undefined)
          throw badRequest('jsonl', 'is required (or source image for a benchmark a custom evaluation image brings)');
        try {
          items = parseDatasetJsonl(jsonl, { metric: fields.metric });
        } catch (error) {
          if (error instanceof DatasetFormatError) throw badRequest('jsonl', error.message);
          throw error;
        }
      }
      let pictures: DatasetPicture[] = [];
      if (multimodal) {
        try {
          pictures = checkMultimodalDataset(fields.metric as MultimodalMetricName, items, encodedPictures);
        } catch (error) {
          if (error instanceof MultimodalDatasetError) throw badRequest(error.field, error.message);
          throw error;
        }
      }
      try {
        const view = await registerCustomDataset(deps.db, request.caller.userId, fields, items, {
          // An image's benchmark has no content here: its hash names the benchmark, so it differs from any dataset's.
          contentHash:
            fields.source === 'image'
              ? `image:${createHash('sha256').update(fields.id).digest('hex')}`
              : datasetContentHash(items, pictures.length > 0 ? picturesDigest(pictures) : undefined),
          reservedIds: BUILTIN_DATASET_IDS,
          pictures,
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
