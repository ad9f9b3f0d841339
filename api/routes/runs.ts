/**
 * Reading and stopping runs: the versions of an evaluation, one run's progress and scores, its
 * per-sample results (paged, or streamed whole as JSON Lines), its log and its Excel report. A run
 * is visible to its evaluation's owner and to admins; anyone else gets 404, as if it did not exist.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import { RUN_STATUSES, RUN_TYPES, TERMINAL_STATUSES, type RunView, type SampleResultView } from '../../contracts/run';
import { METRICS } from '../../contracts/dataset';
import { literalUnion } from '../../contracts/literalUnion';
import { ReviewStatusSchema } from '../../contracts/review';
import { HttpProblem, badRequest, conflict, statusTitle } from '../problems';
import { problems } from '../openapi';
import { visibleRun } from '../visibleRun';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { closeRunStoppedBeforeStart, listRunDatasets } from '../../db/queries/runRecords';
import { getRunArtifact } from '../../db/queries/runArtifacts';
import {
  allResults,
  decodeResultCursor,
  listRunVersions,
  loadRunView,
  logPage,
  requestRunStop,
  resultsPage,
  type LogLineView,
  type OwnedRun,
  type RunVersion,
} from '../../db/queries/runViews';
import { REPORT_ARTIFACT } from '../../contracts/artifact';
import { signalStop } from '../temporalGateway';
import { ScoringTraceSchema } from './scoring';
import { withScoringSteps } from './scoringSteps';
import { withCodeVerdicts } from './codeVerdicts';
import { idempotencyHeadersFor, idempotencyKeyReused, idempotencyOf } from '../idempotencyKey';
import { lookUpIdempotencyKey, rememberIdempotentEffect } from '../../db/queries/idempotency';

const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });
const RunParams = Type.Object({ runId: Type.String({ description: 'the run id' }) });

const DEFAULT_RESULTS_PAGE = 100;
const DEFAULT_LOG_PAGE = 200;

const ResultsQuery = Type.Object(
  {
    dataset: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'must be a dataset id of the run' }),
    ),
    status: Type.Optional(
      Type.Union([Type.Literal('scored'), Type.Literal('failed'), Type.Literal('pending')], {
        description: 'one of scored, failed, pending',
      }),
    ),
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

// Response schemas: they document the API (responses are sent as built, see api/app.ts); the type
// checks below keep them in step with the views declared in contracts/run.ts and runViews.ts.
const nullable = <T extends TSchema>(schema: T, options?: { description: string }) =>
  Type.Union([schema, Type.Null()], options);
const timestamp = Type.String({ format: 'date-time' });
export const RunStatusSchema = literalUnion(RUN_STATUSES, { description: `one of ${RUN_STATUSES.join(', ')}` });
export const RunTypeSchema = literalUnion(RUN_TYPES, { description: `one of ${RUN_TYPES.join(', ')}` });
const MetricNameSchema = literalUnion([...METRICS, 'judge'], {
  description: `one of ${METRICS.join(', ')}, judge (scored by a judge model)`,
});

const ScoreIntervalSchema = Type.Object({ lower: Type.Number(), upper: Type.Number() });

const DatasetMetricsSchema = Type.Object({
  metric: MetricNameSchema,
  score: Type.Number({ description: 'mean score over all samples; failed samples count as 0' }),
  scored: Type.Integer(),
  failed: Type.Integer(),
  avgOutputLength: Type.Number({ description: 'mean output length (tokens) of scored samples' }),
  ci95: nullable(ScoreIntervalSchema, {
    description:
      '95% confidence interval of the score: percentile bootstrap over the per-sample scores (failed count as 0), 1,000 resamples ' +
      'seeded from the run and dataset. Null when no sample was stored, and for datasets closed before intervals were computed.',
  }),
  standardError: nullable(
    Type.Number({
      description: 'standard error of the score (spread of the sample scores over √n); null when ci95 is',
    }),
  ),
  passAtK: Type.Optional(
    Type.Record(Type.String(), Type.Number(), {
      description:
        'pass_at_k datasets: mean pass@k over the problems, keyed by k (score is pass@1); a k appears when every problem has at least k completions',
    }),
  ),
  robustness: Type.Optional(
    Type.Object(
      {
        n: Type.Integer({ description: 'samples both passes stored' }),
        cleanAccuracy: Type.Number(),
        perturbedAccuracy: Type.Number(),
        robustness: nullable(
          Type.Number({ description: 'perturbed / clean accuracy, capped at 1; null when the clean accuracy is 0' }),
        ),
        flipRate: Type.Number({ description: 'share of samples right on one pass and wrong on the other' }),
        brokenRate: Type.Number(),
        fixedRate: Type.Number(),
        failed: Type.Integer({ description: 'perturbed samples that got no answer' }),
      },
      {
        description:
          'formal runs with robustness: the clean pass against a second pass over deterministically perturbed prompts (docs/scoring.md)',
      },
    ),
  ),
});

const DatasetRunViewSchema = Type.Object({
  task: Type.String(),
  dataset: Type.String(),
  position: Type.Integer({ description: 'place in the run; datasets run one after another in this order' }),
  status: RunStatusSchema,
  startedAt: nullable(timestamp),
  endedAt: nullable(timestamp),
  total: Type.Integer(),
  done: Type.Integer({ description: 'samples stored, scored or failed' }),
  failed: Type.Integer(),
  metrics: nullable(DatasetMetricsSchema),
  error: nullable(Type.String()),
  reusedFrom: nullable(
    Type.Object(
      { runId: Type.String({ format: 'uuid' }), version: Type.Integer() },
      {
        description:
          'the earlier run whose finished result of this dataset was copied instead of inferring again (docs/evaluation-modes.md)',
      },
    ),
  ),
});

const TaskScoreSchema = Type.Object({
  task: Type.String(),
  score: Type.Number(),
  datasets: Type.Integer(),
  ci95: nullable(ScoreIntervalSchema, {
    description:
      "95% confidence interval of the task score: a task of one dataset has that dataset's interval; several give " +
      'score ± 1.96 × SE (SE² = Σ SE² of the datasets / their count²), clipped to [0, 1]. Null when a dataset has none.',
  }),
  standardError: nullable(
    Type.Number({ description: "standard error of the task score, combined from its datasets'" }),
  ),
});

const RunReviewStateSchema = Type.Object({
  reviewId: Type.String({ format: 'uuid' }),
  status: ReviewStatusSchema,
  datasets: Type.Array(Type.String(), { description: 'the subjective datasets held for reviewers' }),
  launchDeadline: nullable(timestamp, {
    description: 'until when the owner may launch the manual evaluation; null before the gate opens',
  }),
  launchedAt: nullable(timestamp),
  endedAt: nullable(timestamp),
  note: nullable(Type.String({ description: 'why the review was abandoned, expired or cancelled' })),
});

const RunLeaderboardStateSchema = Type.Object({
  status: Type.Union([Type.Literal('open'), Type.Literal('submitted'), Type.Literal('closed')], {
    description: 'open: the owner may submit until closesAt; submitted; closed: the window passed unused',
  }),
  closesAt: timestamp,
  mode: nullable(Type.Union([Type.Literal('named'), Type.Literal('anonymous')]), {
    description: 'named or anonymous; null until submitted',
  }),
  submittedAt: nullable(timestamp),
});

const RunViewSchema = Type.Object({
  runId: Type.String({ format: 'uuid' }),
  evaluationId: Type.String({ format: 'uuid' }),
  version: Type.Integer(),
  type: RunTypeSchema,
  status: RunStatusSchema,
  submitter: Type.String({ description: 'name of the user who launched the run' }),
  createdAt: timestamp,
  startedAt: nullable(timestamp),
  endedAt: nullable(timestamp),
  error: nullable(Type.String()),
  progress: Type.Object({
    done: Type.Integer(),
    total: Type.Integer(),
    percent: Type.Number(),
    etaSeconds: nullable(
      Type.Integer({
        description: 'at the rate since the run started; null until there is a rate, and once the run ended',
      }),
    ),
  }),
  datasets: Type.Array(DatasetRunViewSchema),
  taskScores: Type.Array(TaskScoreSchema, { description: "per task, the mean of its finished datasets' scores" }),
  overallScore: nullable(Type.Number({ description: 'mean of the task scores; set when the run ends' })),
  overallCi95: nullable(ScoreIntervalSchema, {
    description:
      '95% confidence interval of the overall score: one task keeps its interval, several combine their standard errors; null while overallScore is, or when a task has none',
  }),
  sampleSeed: nullable(Type.Integer({ description: "a verification's sample seed" })),
  review: nullable(RunReviewStateSchema, {
    description:
      'the manual evaluation of its subjective datasets; null when the run has none (see GET /v1/runs/{runId}/manual-evaluation)',
  }),
  leaderboard: nullable(RunLeaderboardStateSchema, {
    description: 'its leaderboard submission window; null when none was opened (succeeded formal runs open one)',
  }),
});

const SampleResultViewSchema = Type.Object({
  id: Type.String({ description: 'the item id' }),
  dataset: Type.String(),
  sample: Type.String({ description: 'the prompt' }),
  label: Type.String({ description: 'the ground truth' }),
  predict: nullable(Type.String({ description: "the model's answer; null when the sample failed" })),
  score: nullable(Type.Number()),
  status: Type.Union([Type.Literal('scored'), Type.Literal('failed'), Type.Literal('pending')], {
    description: 'pending: inferred, waiting for its judge',
  }),
  error: nullable(Type.String()),
  outputLength: Type.Integer(),
  latencyMs: Type.Integer(),
  attempts: Type.Integer(),
});

const ResultsPage = Type.Object({
  items: Type.Array(
    Type.Intersect([
      SampleResultViewSchema,
      Type.Object({
        scoring: Type.Optional(
          nullable(ScoringTraceSchema, {
            description:
              'judge metrics: every scoring step of the sample (null until it is judged); absent for rule metrics',
          }),
        ),
        code: Type.Optional(
          Type.Object(
            {
              n: Type.Integer({ description: 'completions asked' }),
              c: Type.Integer({ description: 'completions that passed the hidden tests' }),
              verdicts: nullable(
                Type.Array(
                  Type.Object({
                    passed: Type.Boolean(),
                    verdict: Type.String({
                      description:
                        'passed, tests_failed, tests_error, program_error, timed_out, … (docs/code-sandbox.md)',
                    }),
                    durationMs: Type.Integer(),
                  }),
                ),
                { description: 'one per completion, in order; null until the sandbox ran them' },
              ),
            },
            {
              description:
                'pass_at_k datasets: what the code sandbox said of each completion; absent for other metrics',
            },
          ),
        ),
      }),
    ]),
  ),
  nextCursor: nullable(Type.String({ description: 'pass as cursor for the next page; null on the last page' })),
});

const RunVersionSchema = Type.Object({
  runId: Type.String({ format: 'uuid' }),
  version: Type.Integer(),
  type: RunTypeSchema,
  status: RunStatusSchema,
  submitter: Type.String(),
  createdAt: timestamp,
  startedAt: nullable(timestamp),
  endedAt: nullable(timestamp),
  overallScore: nullable(Type.Number()),
});

const LogLineSchema = Type.Object({
  id: Type.Integer(),
  at: timestamp,
  level: Type.String({ description: 'debug, info, warn or error' }),
  dataset: nullable(Type.String()),
  message: Type.String(),
});

const LogPage = Type.Object({
  items: Type.Array(LogLineSchema),
  next: Type.Integer({ description: 'pass as after to read on' }),
});

const StopAccepted = Type.Object({
  runId: Type.String({ format: 'uuid' }),
  status: RunStatusSchema,
  stopRequestedAt: timestamp,
});

const download = (contentType: string, description: string) => ({
  description,
  content: { [contentType]: { schema: { type: 'string', format: 'binary' } } },
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const viewsInStep: [
  Same<Static<typeof RunViewSchema>, RunView>,
  Same<Static<typeof SampleResultViewSchema>, SampleResultView>,
  Same<Static<typeof RunVersionSchema>, RunVersion>,
  Same<Static<typeof LogLineSchema>, LogLineView>,
] = [true, true, true, true];
void viewsInStep;

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
        response: { 200: Type.Object({ items: Type.Array(RunVersionSchema) }), ...problems(403, 404) },
      },
      config: access,
    },
    async (request) => {
      const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
      return { items: await listRunVersions(deps.db, evaluation.id) };
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
        response: { 200: RunViewSchema, ...problems(403, 404) },
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
          'Each item: id (item id), dataset, sample (prompt), label (ground truth), predict, score, status, error, outputLength, latencyMs, attempts; ' +
          'for datasets scored by a judge metric also scoring: every step (preprocessing, the judge prompt, its raw reply, postprocessing, the score or the failure).',
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
function attachment(filename: string): string {
  const ascii = filename.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
