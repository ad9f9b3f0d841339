/**
 * Comparisons: several models (one evaluation each) evaluated on the same datasets in one task and
 * ranked with weights the owner can adjust (docs/comparisons.md). Creating one is the launch
 * service's (api/launch/launchService.ts): a formal run per model, planned and checked as a single
 * launch is (one quota slot each), all in one transaction, so every model starts or none does.
 * Stopping one stops its runs.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import { ComparisonView, CreateComparisonBody, RankingView, RankingWeights } from '../../contracts/comparison';
import { TERMINAL_STATUSES } from '../../contracts/run';
import type { FieldError } from '../../contracts/problem';
import { problems } from '../http/openapi';
import { HttpProblem, badRequest, conflict, notFound, statusTitle } from '../http/problems';
import { idempotencyOf, idempotencyHeadersFor } from '../http/idempotencyKey';
import { signalStop } from '../gateways/temporalGateway';
import { launchComparison } from '../launch/launchService';
import { refuseWeights } from '../launch/comparisonPlan';
import {
  comparisonModels,
  getComparisonFor,
  listComparisons,
  modelsOfComparisons,
  requestComparisonStop,
  setComparisonWeights,
  toComparisonView,
  toModelScores,
  type ComparisonRow,
} from '../../db/queries/comparisons';
import { requestRunStop } from '../../db/queries/runViews';
import { closeRunStoppedBeforeStart } from '../../db/queries/runRecords';
import { rankModels, weightRefusals } from '../../scoring/weightedRanking';

const access = { roles: ['user', 'admin'] };
const LIST_LIMIT = 100;
const ComparisonParams = Type.Object({ id: Type.String({ description: 'the comparison id' }) });
const RankingQuery = Type.Object(
  {
    weights: Type.Optional(
      Type.String({
        description:
          'weights for this answer only, as JSON: {"datasets": {"<id>": 2}, "metrics": {"<metric>": 0.5}}; ' +
          'without it the weights stored on the comparison apply',
      }),
    ),
  },
  { additionalProperties: false },
);

export async function comparisonsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  const owned = async (caller: Caller, id: string): Promise<ComparisonRow> => {
    const row = await getComparisonFor(deps.db, caller, id);
    if (!row) throw notFound('comparison');
    return row;
  };
  const view = async (row: ComparisonRow) => toComparisonView(row, await comparisonModels(deps.db, row.id));

  r.post(
    '/comparisons',
    {
      schema: {
        summary: 'Evaluate several models in one task',
        description:
          'Launches one formal run per evaluation (model) over the given datasets, which every evaluation must have; all evaluations ' +
          "must be yours and of one domain. Each run takes one slot of the month's formal quota; if any launch is refused (quota, " +
          'a changed evaluation), none is made. With an Idempotency-Key a retry answers with the comparison the first request made.',
        tags: ['comparisons'],
        body: CreateComparisonBody,
        headers: idempotencyHeadersFor(
          'a retry with the same key and body answers with the comparison the first request created',
        ),
        response: { 201: ComparisonView, ...problems(400, 403, 404, 409, 422, 429, 503) },
      },
      config: access,
    },
    async (request, reply) => {
      const caller = request.caller;
      const idempotency = idempotencyOf(request, caller.userId);
      const launched = await launchComparison(deps, caller, request.body, idempotency);
      if (launched.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(await view(await owned(caller, launched.result)));
    },
  );

  r.get(
    '/comparisons',
    {
      schema: {
        summary: 'Your comparisons, newest first',
        description: `The latest ${LIST_LIMIT} comparisons you created, each with its runs, status and progress.`,
        tags: ['comparisons'],
        response: { 200: Type.Array(ComparisonView), ...problems(403) },
      },
      config: access,
    },
    async (request) => {
      const rows = await listComparisons(deps.db, request.caller.userId, LIST_LIMIT);
      const models = await modelsOfComparisons(
        deps.db,
        rows.map((row) => row.id),
      );
      return rows.map((row) => toComparisonView(row, models.get(row.id) ?? []));
    },
  );

  r.get(
    '/comparisons/:id',
    {
      schema: {
        summary: 'A comparison: its runs, progress and status',
        description: 'Progress is evaluated entries (scored or failed) over models × entries, overall and per model.',
        tags: ['comparisons'],
        params: ComparisonParams,
        response: { 200: ComparisonView, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => view(await owned(request.caller, request.params.id)),
  );

  r.get(
    '/comparisons/:id/ranking',
    {
      schema: {
        summary: 'The overall ranking of the models',
        description:
          "Each model's weighted score is the weighted mean of its dataset scores (weight = dataset weight × metric weight ÷ datasets " +
          'in its task; a dataset that did not succeed counts 0). The weights stored on the comparison apply unless `weights` is given.',
        tags: ['comparisons'],
        params: ComparisonParams,
        querystring: RankingQuery,
        response: { 200: RankingView, ...problems(400, 403, 404) },
      },
      config: access,
    },
    async (request) => {
      const row = await owned(request.caller, request.params.id);
      const weights = request.query.weights === undefined ? row.weights : parseWeights(request.query.weights);
      return ranking(deps, row, weights);
    },
  );

  r.put(
    '/comparisons/:id/weights',
    {
      schema: {
        summary: 'Adjust the ranking weights',
        description:
          'Stores weights per dataset and per metric (non-negative, not all zero); answers with the ranking they give.',
        tags: ['comparisons'],
        params: ComparisonParams,
        body: RankingWeights,
        response: { 200: RankingView, ...problems(400, 403, 404) },
      },
      config: access,
    },
    async (request) => {
      const row = await owned(request.caller, request.params.id);
      const answer = await ranking(deps, row, request.body);
      await setComparisonWeights(deps.db, row.id, request.body);
      return answer;
    },
  );

  r.post(
    '/comparisons/:id/stop',
    {
      schema: {
        summary: "Stop a comparison's runs",
        description:
          'Stops every run of the comparison that is queued or running; asking again is harmless. 409 once every run has ended.',
        tags: ['comparisons'],
        params: ComparisonParams,
        response: { 202: ComparisonView, ...problems(403, 404, 409, 503) },
      },
      config: access,
    },
    async (request, reply) => {
      const row = await owned(request.caller, request.params.id);
      const models = await comparisonModels(deps.db, row.id);
      const open = models.filter((m) => !TERMINAL_STATUSES.includes(m.run.status));
      if (open.length === 0 && !row.stopRequestedAt) {
        throw conflict(
          `comparison ${row.id} has already ended (${toComparisonView(row, models).status}); only a running comparison can be stopped`,
          'status',
        );
      }
      await requestComparisonStop(deps.db, row.id);
      const requestedBy = request.caller.name;
      for (const m of open) {
        if (!(await requestRunStop(deps.db, m.run.id))) continue;
        let signalled: boolean;
        try {
          signalled = await signalStop(deps.temporal, m.run.id, { requestedBy });
        } catch (error) {
          deps.logger.error({ runId: m.run.id, err: error }, 'stop signal failed');
          throw new HttpProblem(
            503,
            statusTitle(503),
            'the stop was recorded but the workflow service could not be reached to deliver it; ask again shortly',
          );
        }
        // As POST /runs/{id}/stop: a run with no workflow yet is closed in the record.
        if (!signalled) await closeRunStoppedBeforeStart(deps.db, m.run.id, requestedBy);
      }
      deps.logger.info({ comparisonId: row.id, requestedBy: request.caller.userId }, 'comparison stop requested');
      return reply.code(202).send(await view(await owned(request.caller, row.id)));
    },
  );
}

async function ranking(deps: ApiDeps, row: ComparisonRow, weights: RankingWeights): Promise<RankingView> {
  const models = await comparisonModels(deps.db, row.id);
  const scores = toModelScores(models);
  refuseWeights(weightRefusals(weights, scores));
  const status = toComparisonView(row, models).status;
  return {
    comparisonId: row.id,
    status,
    final: models.every((m) => TERMINAL_STATUSES.includes(m.run.status)),
    weights,
    models: rankModels(scores, weights),
  };
}

/** The `weights` query parameter: JSON of the same shape as PUT /weights takes. */
function parseWeights(text: string): RankingWeights {
  const shape = 'must be JSON like {"datasets": {"<dataset id>": 2}, "metrics": {"<metric>": 0.5}}';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('weights', shape);
  }
  if (!isPlainObject(value)) throw badRequest('weights', shape);
  const errors: FieldError[] = [];
  for (const [key, part] of Object.entries(value)) {
    if (key !== 'datasets' && key !== 'metrics')
      errors.push({ field: `weights.${key}`, message: 'is not a weight group; use datasets or metrics' });
    else if (!isPlainObject(part))
      errors.push({ field: `weights.${key}`, message: 'must be an object of names to weights' });
    else
      for (const [name, w] of Object.entries(part))
        if (typeof w !== 'number')
          errors.push({ field: `weights.${key}.${name}`, message: 'must be a non-negative finite number' });
  }
  if (errors.length > 0)
    throw new HttpProblem(400, statusTitle(400), errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
  return value as RankingWeights;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
