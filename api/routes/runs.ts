/**
 * Reading and stopping runs: the versions of an evaluation, one run's progress and scores, its
 * per-sample results (paged, or streamed whole as JSON Lines), its log and its Excel report. A run
 * is visible to its evaluation's owner and to admins; anyone else gets 404, as if it did not exist.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import {
  LogPage,
  ResultsPage,
  RunStatusSchema,
  RunSummaryPage,
  RunTypeSchema,
  RunVersionList,
  RunView,
  type RunConfig,
  RUN_MODES,
  SAMPLE_STATUSES,
  StopAccepted,
  TERMINAL_STATUSES,
} from '../../contracts/run';
import { literalUnion } from '../../contracts/literalUnion';
import { Domain } from '../../contracts/domain';
import { HttpProblem, badRequest, conflict, statusTitle } from '../http/problems';
import { problems } from '../http/openapi';
import { visibleRun } from '../rules/visibleRun';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { closeRunStoppedBeforeStart, listRunDatasets } from '../../db/queries/runRecords';
import { getRunArtifact } from '../../db/queries/runArtifacts';
import {
  allResults,
  decodeResultCursor,
  listRunVersions,
  listRuns,
  loadRunView,
  logPage,
  requestRunStop,
  resultsPage,
  type OwnedRun,
} from '../../db/queries/runViews';
import { REPORT_ARTIFACT } from '../../contracts/artifact';
import { signalStop } from '../gateways/temporalGateway';
import { withScoringSteps } from '../views/scoringSteps';
import { withCodeVerdicts } from '../views/codeVerdicts';
import { idempotencyHeadersFor, idempotencyKeyReused, idempotencyOf } from '../http/idempotencyKey';
import { lookUpIdempotencyKey, rememberIdempotentEffect } from '../../db/queries/idempotency';

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });
const RunParams = Type.Object({ runId: Type.String({ description: 'the run id' }) });

const DEFAULT_RESULTS_PAGE = 100;
const DEFAULT_RUNS_PAGE = 20;

const RunsQuery = Type.Object(
  {
    status: Type.Optional(RunStatusSchema),
    type: Type.Optional(RunTypeSchema),
    domain: Type.Optional(Domain),
    model: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'must be 1–128 characters of the model name' }),
    ),
    evaluationId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
        description: 'must be an evaluation id (a UUID)',
      }),
    ),
    mode: Type.Optional(literalUnion(RUN_MODES, { description: `one of ${RUN_MODES.join(', ')}` })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: DEFAULT_RUNS_PAGE,
        description: 'must be an integer from 1 to 100',
      }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'must be the nextCursor of an earlier page' }),
    ),
  },
  { additionalProperties: false },
);

const RunConfigView = Type.Object({
  runId: Type.String(),
  evaluationId: Type.String(),
  version: Type.Integer(),
  type: RunTypeSchema,
  createdAt: Type.String(),
  apiKeySet: Type.Boolean({ description: 'whether the run calls its endpoint with a key (never shown)' }),
  config: Type.Unknown({
    description: 'the RunConfig frozen at launch (contracts/run.ts), judge key ids replaced by apiKeySet',
  }),
});

/** The frozen config as shown: each judge's sealed-key id becomes whether it has a key. */
function withoutKeyIds(config: RunConfig): unknown {
  if (!config.scoring) return config;
  const datasets = Object.fromEntries(
    Object.entries(config.scoring.datasets).map(([id, metric]) => {
      if (!metric.judge) return [id, metric];
      const { apiKeyId, ...judge } = metric.judge;
      return [id, { ...metric, judge: { ...judge, apiKeySet: apiKeyId !== null } }];
    }),
  );
  return { ...config, scoring: { ...config.scoring, datasets } };
}
const DEFAULT_LOG_PAGE = 200;

const ResultsQuery = Type.Object(
  {
    dataset: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'must be a dataset id of the run' }),
    ),
    status: Type.Optional(literalUnion(SAMPLE_STATUSES, { description: `one of ${SAMPLE_STATUSES.join(', ')}` })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: DEFAULT_RESULTS_PAGE,
        description: 'must be an integer from 1 to 1000',
      }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'must be the nextCursor of an earlier page' }),
    ),
  },
  { additionalProperties: false },
);

const LogsQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 0,
        description: 'must be a non-negative integer: the next of an earlier page',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: DEFAULT_LOG_PAGE,
        description: 'must be an integer from 1 to 1000',
      }),
    ),
  },
  { additionalProperties: false },
);

const access = { roles: ['user', 'admin'] };

const download = (contentType: string, description: string) => ({
  description,
  content: { [contentType]: { schema: { type: 'string', format: 'binary' } } },
});

export async function runsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const now = () => (deps.now ?? (() => new Date()))();

  const ownedRun = (caller: Caller, runId: string): Promise<OwnedRun> => visibleRun(deps.db, caller, runId);

  r.get(
    '/evaluations/:id/runs',
    {
      schema: {
        summary: "The evaluation's runs (versions), newest first",
        tags: ['runs'],
        params: EvaluationParams,
        response: { 200: RunVersionList, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id, { deleted: 'readable' });
      return { items: await listRunVersions(deps.db, evaluation.id) };
    },
  );

  r.get(
    '/runs',
    {
      schema: {
        summary: 'Runs across the caller’s evaluations (admins: everyone’s), newest first, filtered',
        description:
          'Filters combine: status, type (verification or formal), domain, model (part of the model name, any case), evaluationId ' +
          'and mode (inference-and-evaluation, inference-only, evaluation-only).',
        tags: ['runs'],
        querystring: RunsQuery,
        response: { 200: RunSummaryPage, ...problems(400, 403) },
      },
      config: access,
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listRuns(deps.db, request.caller, filters, { limit: limit ?? DEFAULT_RUNS_PAGE, cursor });
    },
  );

  r.get(
    '/runs/:runId/config',
    {
      schema: {
        summary: 'The run’s whole configuration as it was frozen at launch (run_eval’s eval_args.json)',
        description:
          'Datasets with their content hashes and sample plans, inference parameters, limits, batching, the serving plan, the scoring ' +
          'configuration and robustness, exactly as the run used them. Keys are never shown: the model’s and each judge’s are reduced ' +
          'to whether one was set.',
        tags: ['runs'],
        params: RunParams,
        response: { 200: RunConfigView, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const { run } = await ownedRun(request.caller, request.params.runId);
      return {
        runId: run.id,
        evaluationId: run.evaluationId,
        version: run.version,
        type: run.type,
        createdAt: run.createdAt.toISOString(),
        apiKeySet: run.apiKeyCipher !== null,
        config: withoutKeyIds(run.config),
      };
    },
  );

  r.get(
    '/runs/:runId',
    {
      schema: {
        summary: 'A run: status, progress, per-dataset status and metrics, task scores, overall score',
        description: 'Task scores average the datasets finished so far; the overall score is set when the run ends.',
        tags: ['runs'],
        params: RunParams,
        response: { 200: RunView, ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => loadRunView(deps.db, await ownedRun(request.caller, request.params.runId), now()),
  );

  r.post(
    '/runs/:runId/stop',
    {
      schema: {
        summary: 'Stop a queued or running run',
        description:
          'Asking again while the run is stopping is harmless; a run that has ended answers 409 with its status. ' +
          'With an Idempotency-Key, a retry answers 202 like the first request did, even once the run has ended.',
        tags: ['runs'],
        params: RunParams,
        headers: idempotencyHeadersFor(
          'a retried stop with the same key answers 202 with the run as it is now, never 409',
        ),
        response: { 202: StopAccepted, ...problems(400, 403, 404, 409, 422, 503) },
      },
      config: access,
    },
    async (request, reply) => {
      const { run } = await ownedRun(request.caller, request.params.runId);
      const idempotency = idempotencyOf(request, request.caller.userId);
      const earlier = idempotency ? await lookUpIdempotencyKey(deps.db, idempotency) : null;
      if (earlier?.state === 'mismatch') throw idempotencyKeyReused('stop');
      // A replay of a run still stopping goes the whole way again (same stop time, the signal sent again: harmless,
      // and it delivers a stop whose first answer was a 503); once the run has ended it answers as the first did.
      const replayed = earlier?.state === 'done';
      if (replayed) reply.header('idempotent-replayed', 'true');
      if (replayed && TERMINAL_STATUSES.includes(run.status) && run.stopRequestedAt) {
        return reply
          .code(202)
          .send({ runId: run.id, status: run.status, stopRequestedAt: run.stopRequestedAt.toISOString() });
      }
      const stop = TERMINAL_STATUSES.includes(run.status) ? null : await requestRunStop(deps.db, run.id);
      if (!stop) {
        const { run: current } = await ownedRun(request.caller, run.id);
        throw conflict(
          `run v${current.version} has already ended (${current.status}); only queued or running runs can be stopped`,
          'status',
        );
      }
      // Pinned as soon as the stop is recorded: a retry after a lost answer or a 503 below is answered as a replay.
      if (idempotency && !replayed) await rememberIdempotentEffect(deps.db, idempotency, run.id);
      const requestedBy = request.caller.name;
      let signalled: boolean;
      try {
        signalled = await signalStop(deps.temporal, run.id, { requestedBy });
      } catch (error) {
        deps.logger.error({ runId: run.id, err: error }, 'stop signal failed');
        throw new HttpProblem(
          503,
          statusTitle(503),
          'the stop was recorded but the workflow service could not be reached to deliver it; ask again shortly',
        );
      }
      // No workflow to tell: its start failed or has not happened yet, so the run is closed in the record.
      if (!signalled) await closeRunStoppedBeforeStart(deps.db, run.id, requestedBy);
      deps.logger.info({ runId: run.id, requestedBy: request.caller.userId }, 'run stop requested');
      const { run: current } = await ownedRun(request.caller, run.id);
      return reply
        .code(202)
        .send({ runId: run.id, status: current.status, stopRequestedAt: stop.stopRequestedAt.toISOString() });
    },
  );

  r.get(
    '/runs/:runId/results',
    {
      schema: {
        summary: 'Per-sample results, in run order, paged',
        description:
          'Each item: id (item id), dataset, sample (prompt), label (ground truth), predict, score, status, error, outputLength, latencyMs, attempts, promptTokens, tokensCounted; ' +
          'for datasets scored by a judge metric also scoring: every step (preprocessing, the judge prompt, its raw reply, postprocessing, the score or the failure); ' +
          'for safety datasets the same, with the label (and a fallback step saying so when no judge was configured).',
        tags: ['runs'],
        params: RunParams,
        querystring: ResultsQuery,
        response: { 200: ResultsPage, ...problems(400, 403, 404) },
      },
      config: access,
    },
    async (request) => {
      const { run } = await ownedRun(request.caller, request.params.runId);
      const { dataset, status, limit, cursor } = request.query;
      const datasets = await listRunDatasets(deps.db, run.id);
      if (dataset && !datasets.some((d) => d.datasetId === dataset)) {
        throw badRequest(
          'dataset',
          `must be one of the run's datasets (${datasets.map((d) => d.datasetId).join(', ')}); ${dataset} is not`,
        );
      }
      const after = cursor === undefined ? null : decodeResultCursor(cursor);
      if (cursor !== undefined && !after) throw badRequest('cursor', 'must be the nextCursor of an earlier page');
      const page = await resultsPage(deps.db, run.id, datasets, {
        datasetId: dataset,
        status,
        limit: limit ?? DEFAULT_RESULTS_PAGE,
        after,
      });
      return withCodeVerdicts(deps.db, run.id, run.config, await withScoringSteps(deps.db, run.id, run.config, page));
    },
  );

  r.get(
    '/runs/:runId/results.jsonl',
    {
      schema: {
        summary: 'Every per-sample result as JSON Lines (one result per line), streamed',
        tags: ['runs'],
        params: RunParams,
        response: {
          200: download('application/x-ndjson', 'one result per line, in run order, as in GET /runs/{runId}/results'),
          ...problems(403, 404),
        },
      },
      config: access,
    },
    async (request, reply) => {
      const { run, modelName } = await ownedRun(request.caller, request.params.runId);
      const lines = async function* () {
        for await (const result of allResults(deps.db, run.id)) yield `${JSON.stringify(result)}\n`;
      };
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', attachment(`${modelName}-v${run.version}-results.jsonl`))
        .send(Readable.from(lines()));
    },
  );

  r.get(
    '/runs/:runId/logs',
    {
      schema: {
        summary: "The run's log lines, oldest first",
        description:
          'Pass the returned `next` as `after` to read on; it stays put when there is nothing new, so it can be polled.',
        tags: ['runs'],
        params: RunParams,
        querystring: LogsQuery,
        response: { 200: LogPage, ...problems(400, 403, 404) },
      },
      config: access,
    },
    async (request) => {
      const { run } = await ownedRun(request.caller, request.params.runId);
      return logPage(deps.db, run.id, request.query.after ?? 0, request.query.limit ?? DEFAULT_LOG_PAGE);
    },
  );

  r.get(
    '/runs/:runId/report.xlsx',
    {
      schema: {
        summary: "The run's Excel report (Summary and Details sheets)",
        description:
          'Written when the run ends; 409 until then (with Retry-After: 1 in the moment between the run closing and its report being written).',
        tags: ['runs'],
        params: RunParams,
        response: {
          200: download(REPORT_ARTIFACT.contentType, 'the report, named <modelName>-v<version>.xlsx'),
          ...problems(403, 404, 409),
        },
      },
      config: access,
    },
    async (request, reply) => {
      const { run, modelName } = await ownedRun(request.caller, request.params.runId);
      if (!TERMINAL_STATUSES.includes(run.status)) {
        throw conflict(`run v${run.version} is ${run.status}; its report is written when it ends`, 'status');
      }
      const report = await getRunArtifact(deps.db, run.id, REPORT_ARTIFACT.kind);
      if (!report) {
        // The run is closed just before its report is built: a client that saw it end asks again shortly.
        reply.header('retry-after', '1');
        throw conflict(
          `run v${run.version} has ended (${run.status}) but its report is not written yet; try again in a moment`,
        );
      }
      return reply
        .type(report.contentType)
        .header('content-disposition', attachment(`${modelName}-v${run.version}.xlsx`))
        .send(report.content);
    },
  );
}

/** Content-Disposition for a download; the ASCII fallback keeps odd model names from breaking the header. */
export function attachment(filename: string): string {
  const ascii = filename.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
