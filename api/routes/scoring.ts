/**
 * An evaluation's scoring configuration: read and replace it as JSON, or as a YAML document (the
 * seed's "quick configuration": send Content-Type application/yaml or text/yaml; ask with Accept
 * application/yaml to get YAML back). Both go through the same schema and rules, and errors name
 * the field path either way. Judge API keys are write-only: stored sealed, shown as ********.
 *
 * The debug call scores a handful of samples with a configuration (the stored one, or one sent
 * with the call) before a formal run, and returns every step: the answer after preprocessing, the
 * exact judge prompt, the judge's raw reply, each postprocessing result and the score or the
 * reason there is none. It answers synchronously, bounded in samples and time, and stores nothing.
 * Judge calls are made on a judge worker (api/gateways/scoringDebugGateway.ts), never from the API process.
 */
import type { Domain } from '../../contracts/domain';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ApiDeps } from '../apiDeps';
import { DatasetId } from '../../contracts/dataset';
import {
  DEFAULT_JUDGING_LIMITS,
  JUDGE_KEY_MASK,
  ScoringConfig,
  metricConfigFor,
  type FrozenMetric,
  type JudgeEndpoint,
  type MetricConfig,
  type StoredMetricConfig,
} from '../../contracts/scoringConfig';
import {
  DEBUG_ANSWER_GRACE_MS,
  DEBUG_MAX_SAMPLES,
  DEBUG_TIMEOUT_MS,
  ScoringDebugView,
  type ScoringDebugInput,
} from '../../contracts/scoringDebug';
import type { ScoringTrace } from '../../contracts/scoringTrace';
import { getEvaluationFor } from '../../db/queries/evaluations';
import { getScoringConfig, keptKeyId, saveScoringConfig, scoringConfigView } from '../../db/queries/scoringConfig';
import { dropCallJudgeKey, sealCallJudgeKey } from '../../db/queries/debugJudgeKeys';
import { getDatasetItemsPage } from '../../db/queries/datasets';
import { checkScoringConfig } from '../../scoring/judge/checkScoringConfig';
import { judgeTraces, ruleTraces } from '../../scoring/judge/debugTraces';
import { runScoringDebug } from '../gateways/scoringDebugGateway';
import { HttpProblem, badRequest, statusTitle, validationProblem } from '../http/problems';
import { problems } from '../http/openapi';
import { fieldName } from '../http/schemaValidation';
import { codeDatasetIds, datasetIdsWithMetric } from '../../db/queries/datasets';
import { SAFETY_METRIC } from '../../contracts/dataset';
import { refusedEndpoint } from '../rules/evaluationRules';
import type { EndpointNetworkPolicy } from '../../config/endpointNetworks';
import type { FieldError } from '../../contracts/problem';
import { getImage } from '../../db/queries/images';
import { customImageErrors } from '../rules/customImageRules';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];
/** Dataset ids in field paths as the API names any key: quoted in brackets when not a plain name. */
const keyPath = (parent: string, key: string) =>
  fieldName(`/${parent}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, parent);
const EvaluationParams = Type.Object({ id: Type.String({ description: 'the evaluation id' }) });

/** Judges the configuration names at an address the workers would refuse (api/rules/evaluationRules.ts). */
function judgeEndpointRefusals(
  config: ScoringConfig,
  path: typeof keyPath,
  networks: EndpointNetworkPolicy,
): FieldError[] {
  const entries: [string, MetricConfig | undefined][] = [
    ['default', config.default],
    ...Object.entries(config.datasets ?? {}).map(([id, entry]): [string, MetricConfig] => [
      path('datasets', id),
      entry,
    ]),
  ];
  return entries.flatMap(([at, entry]): FieldError[] => {
    const refused = entry?.judge ? refusedEndpoint(entry.judge.baseUrl, networks) : null;
    return refused ? [{ field: `${at}.judge.baseUrl`, message: refused }] : [];
  });
}
const access = { roles: ['user', 'admin'] } as const;

/** The custom image's rules (api/rules/customImageRules.ts), with the image read. */
async function customImageRefusals(
  deps: ApiDeps,
  evaluation: { ownerId: string; domain: Domain; deployment: { method: string } },
  config: ScoringConfig,
): Promise<FieldError[]> {
  const custom = config.customImage;
  if (!custom) return [];
  return customImageErrors(await getImage(deps.db, custom.imageId), custom, evaluation);
}

const text = (max: number, what: string) =>
  Type.String({ maxLength: max, description: `must be at most ${max.toLocaleString('en-US')} characters (${what})` });

export const DebugSample = Type.Object(
  {
    question: text(100_000, 'the prompt the model was given'),
    prediction: text(100_000, 'the answer to score'),
    reference: text(100_000, 'the reference answer'),
    choices: Type.Optional(
      Type.Array(Type.String({ maxLength: 10_000 }), {
        minItems: 2,
        maxItems: 26,
        description: 'must be 2–26 strings',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ScoringDebugBody = Type.Object(
  {
    config: Type.Optional(ScoringConfig),
    dataset: Type.Optional(DatasetId),
    samples: Type.Optional(
      Type.Array(DebugSample, {
        minItems: 1,
        maxItems: DEBUG_MAX_SAMPLES,
        description: `must list 1–${DEBUG_MAX_SAMPLES} samples`,
      }),
    ),
    predictions: Type.Optional(
      Type.Array(Type.String({ maxLength: 100_000 }), {
        minItems: 1,
        maxItems: DEBUG_MAX_SAMPLES,
        description: `must list 1–${DEBUG_MAX_SAMPLES} predictions, paired in order with the dataset's items from offset`,
      }),
    ),
    offset: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10_000_000,
        description: 'must be an integer from 0 to 10,000,000 (the first item index)',
      }),
    ),
  },
  { additionalProperties: false },
);
type ScoringDebugBody = Static<typeof ScoringDebugBody>;

export async function scoringRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Content-type parsers are scoped to this plugin: YAML is accepted here and nowhere else.
  await app.register(async (scope) => {
    scope.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => {
      try {
        const value: unknown = parseYaml(body as string, { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true });
        done(null, value ?? undefined);
      } catch (error) {
        const message = (error as Error).message.split('\n')[0] ?? 'it cannot be read';
        done(
          new HttpProblem(400, statusTitle(400), `the body is not a valid YAML document: ${message}`, [
            { field: 'body', message: `must be a YAML document: ${message}` },
          ]),
          undefined,
        );
      }
    });

    scope.get(
      '/evaluations/:id/scoring',
      {
        schema: {
          summary: "The evaluation's scoring configuration (judge keys masked)",
          description: `JSON, or YAML when the Accept header asks for application/yaml. Judge API keys show as ${JUDGE_KEY_MASK}; an evaluation never configured answers {}.`,
          tags: ['scoring'],
          params: EvaluationParams,
          response: { 200: ScoringConfig, ...problems(403, 404) },
        },
        config: access,
      },
      async (request: FastifyRequest<{ Params: Static<typeof EvaluationParams> }>, reply) => {
        const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id, { deleted: 'readable' });
        return send(request, reply, scoringConfigView(await getScoringConfig(deps.db, evaluation.id)));
      },
    );

    scope.put(
      '/evaluations/:id/scoring',
      {
        schema: {
          summary: "Replace the evaluation's scoring configuration",
          description:
            'The body is JSON, or the same document as YAML (Content-Type application/yaml or text/yaml): per dataset (datasets.<id>) or by ' +
            'default, a metric with its options, or metric judge with a judge (baseUrl, model, apiKey), prompt template ({question}, ' +
            '{answer}, {reference}, {choices}), preprocessing and postprocessing steps; and judging limits. A judge apiKey is stored ' +
            `sealed and shown as ${JUDGE_KEY_MASK}; sending ${JUDGE_KEY_MASK} (or no apiKey) keeps the stored key while the judge stays ` +
            'on the same origin. Or customImage: an approved evaluation image run once per dataset, which calls the model through a per-job ' +
            'proxy and writes metrics.json (docs/custom-evaluation-images.md). Runs launched afterwards freeze the configuration; runs ' +
            'already launched keep theirs. See docs/scoring.md.',
          tags: ['scoring'],
          params: EvaluationParams,
          body: ScoringConfig,
          response: { 200: ScoringConfig, ...problems(400, 403, 404, 413, 415) },
        },
        config: access,
      },
      async (request: FastifyRequest<{ Params: Static<typeof EvaluationParams>; Body: ScoringConfig }>, reply) => {
        const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
        const errors = [
          ...checkScoringConfig(
            request.body,
            evaluation.datasetIds,
            keyPath,
            await codeDatasetIds(deps.db, evaluation.datasetIds),
            await datasetIdsWithMetric(deps.db, evaluation.datasetIds, SAFETY_METRIC),
          ),
          ...judgeEndpointRefusals(request.body, keyPath, deps.env.endpoints.networks),
          ...(await customImageRefusals(deps, evaluation, request.body)),
        ];
        if (errors.length > 0) throw validationProblem(errors);
        const saved = await saveScoringConfig(deps.db, evaluation.id, request.body, deps.env.secretKey);
        if (!saved.ok) throw validationProblem(saved.errors);
        request.log.info({ evaluationId: evaluation.id }, 'scoring configuration replaced');
        return send(request, reply, scoringConfigView(saved.config));
      },
    );

    scope.post(
      '/evaluations/:id/scoring/debug',
      {
        schema: {
          summary: 'Score a few samples with a scoring configuration and show every step',
          description:
            `Uses config when sent, else the stored configuration; dataset picks its entry (else the default entry). Give either samples ` +
            `({question, prediction, reference}) or predictions, paired in order with the dataset's items from offset (default 0). At most ` +
            `${DEBUG_MAX_SAMPLES} samples. Judge calls are made by a worker of the judge queue and abandoned after ${DEBUG_TIMEOUT_MS / 1000} s; ` +
            `503 when no worker took the call, 504 when the judge worker did not answer in time. Nothing is stored.`,
          tags: ['scoring'],
          params: EvaluationParams,
          body: ScoringDebugBody,
          response: { 200: ScoringDebugView, ...problems(400, 403, 404, 409, 413, 415, 503, 504) },
        },
        config: access,
      },
      async (request: FastifyRequest<{ Params: Static<typeof EvaluationParams>; Body: ScoringDebugBody }>) => {
        const body = request.body;
        const evaluation = await getEvaluationFor(deps.db, request.caller, request.params.id);
        const stored = await getScoringConfig(deps.db, evaluation.id);
        if (body.config) {
          const errors = [
            ...checkScoringConfig(
              body.config,
              evaluation.datasetIds,
              keyPath,
              await codeDatasetIds(deps.db, evaluation.datasetIds),
              await datasetIdsWithMetric(deps.db, evaluation.datasetIds, SAFETY_METRIC),
            ),
            ...judgeEndpointRefusals(body.config, keyPath, deps.env.endpoints.networks),
          ].map((e) => ({ ...e, field: `config.${e.field}` }));
          if (errors.length > 0) throw validationProblem(errors);
        }
        if (body.dataset !== undefined && !evaluation.datasetIds.includes(body.dataset)) {
          throw badRequest('dataset', `must be a dataset of the evaluation (${evaluation.datasetIds.join(', ')})`);
        }
        if ((body.samples === undefined) === (body.predictions === undefined)) {
          throw badRequest(
            body.samples ? 'predictions' : 'samples',
            'give either samples or predictions (with dataset), not both or neither',
          );
        }
        if (body.predictions && body.dataset === undefined)
          throw badRequest('dataset', 'is required with predictions: it names the items they answer');

        const config: ScoringConfig = body.config ?? scoringConfigView(stored);
        if (config.customImage)
          throw badRequest(
            body.config ? 'config.customImage' : 'dataset',
            'is scored by a custom image, which evaluates whole datasets during a run; the debug call scores text with rule metrics and judges',
          );
        const entry = metricConfigFor(config, body.dataset ?? '');
        if (!entry) {
          throw badRequest(
            body.config ? 'config' : 'dataset',
            `has no metric for ${body.dataset ? `dataset ${body.dataset}` : 'the default'}: configure datasets.<id> or default`,
          );
        }
        const path = body.dataset && config.datasets?.[body.dataset] ? `datasets.${body.dataset}` : 'default';
        if (entry.metric === 'pass_at_k') {
          throw badRequest(
            `${body.config ? 'config.' : ''}${path}.metric`,
            'is pass_at_k, which runs programs in the code sandbox during a run; the debug call scores text (rule metrics and judges)',
          );
        }
        const judge = debugJudge(
          entry,
          path,
          stored && metricConfigFor(stored, body.dataset ?? ''),
          deps,
          body.config ? 'config.' : '',
        );

        let samples: {
          id: string | null;
          question: string;
          prediction: string;
          reference: string;
          choices?: string[] | null;
        }[];
        if (body.samples) {
          samples = body.samples.map((s) => ({ id: null, ...s }));
        } else {
          const offset = body.offset ?? 0;
          const items = await getDatasetItemsPage(deps.db, body.dataset!, offset - 1, body.predictions!.length);
          if (items.length < body.predictions!.length) {
            throw badRequest(
              'predictions',
              `must not outnumber the dataset's items from offset ${offset} (${items.length} there)`,
            );
          }
          samples = items.map((item, i) => ({
            id: item.itemId,
            question: item.prompt,
            prediction: body.predictions![i]!,
            reference: item.groundTruth,
            choices: item.choices,
          }));
        }
        const judged = samples.map((s) => ({
          question: s.question,
          answer: s.prediction,
          reference: s.reference,
          choices: s.choices ?? null,
        }));
        const { judge: _endpoint, ...pipeline } = entry;
        let traces: ScoringTrace[];
        if (entry.metric !== 'judge' && entry.metric !== SAFETY_METRIC) {
          traces = ruleTraces(entry, judged);
        } else if (judge === 'none') {
          // No judge to ask, so no call leaves the API: the exact-match (or refusal-phrase) fallback is pure.
          traces = await judgeTraces(pipeline, null, judged, 1);
        } else {
          traces = await traceOnJudgeWorker(
            deps,
            evaluation.id,
            judge,
            pipeline,
            { ...DEFAULT_JUDGING_LIMITS, ...config.limits },
            judged,
            request,
          );
        }
        return {
          dataset: body.dataset ?? null,
          metric: entry.metric,
          samples: samples.map((s, i) => ({
            id: s.id,
            question: s.question,
            prediction: s.prediction,
            reference: s.reference,
            trace: traces[i]!,
          })),
        };
      },
    );
  });
}

/**
 * The judge a debug call asks, with its key by reference: a key sent with the call (to be sealed
 * for the call's length), else the stored key of the same entry (same origin), else none; or the
 * platform's judge; or 'none' when there is no judge at all and the fallback scores.
 */
type DebugJudge =
  'none' | 'platform' | { endpoint: Omit<JudgeEndpoint, 'apiKey'>; keyId: string | null; sentKey?: string };

function debugJudge(
  entry: MetricConfig,
  path: string,
  stored: StoredMetricConfig | null,
  deps: ApiDeps,
  prefix: string,
): DebugJudge {
  if (entry.metric !== 'judge' && entry.metric !== SAFETY_METRIC) return 'none';
  if (!entry.judge) return deps.env.judge ? 'platform' : 'none';
  const { apiKey, ...endpoint } = entry.judge;
  if (typeof apiKey === 'string' && apiKey !== JUDGE_KEY_MASK) return { endpoint, keyId: null, sentKey: apiKey };
  if (apiKey === null) return { endpoint, keyId: null };
  const kept = keptKeyId(entry, path, stored);
  if (kept.error) throw badRequest(`${prefix}${kept.error.field}`, kept.error.message);
  return { endpoint, keyId: kept.keyId };
}

/**
 * The judge calls, made by a judge worker through the debugScoring workflow: the API may not be able
 * to reach the judge, and must not call user-given URLs itself. A key sent with the call is sealed
 * into a row for as long as the call lasts, so only its id enters the workflow.
 */
async function traceOnJudgeWorker(
  deps: ApiDeps,
  evaluationId: string,
  judge: Exclude<DebugJudge, 'none'>,
  pipeline: Omit<MetricConfig, 'judge'>,
  limits: ScoringDebugInput['limits'],
  samples: ScoringDebugInput['samples'],
  request: FastifyRequest,
): Promise<ScoringTrace[]> {
  const deadline = Date.now() + DEBUG_TIMEOUT_MS;
  const sealed =
    judge !== 'platform' && judge.sentKey !== undefined
      ? await sealCallJudgeKey(deps.db, evaluationId, judge.sentKey, deps.env.secretKey)
      : null;
  try {
    const metric: FrozenMetric =
      judge === 'platform' ? pipeline : { ...pipeline, judge: { ...judge.endpoint, apiKeyId: sealed ?? judge.keyId } };
    const outcome = await runScoringDebug(
      deps.temporal,
      { metric, limits, samples, deadline },
      DEBUG_TIMEOUT_MS + DEBUG_ANSWER_GRACE_MS,
    );
    if (outcome.ok) return outcome.traces;
    request.log.warn(
      { workflowId: outcome.workflowId, reason: outcome.reason },
      `scoring debug call not answered: ${outcome.message}`,
    );
    switch (outcome.reason) {
      case 'keyGone':
        throw new HttpProblem(
          409,
          statusTitle(409),
          `the judge key could not be read: ${outcome.message}; send the call again`,
        );
      case 'judgeWorkerLate':
        throw new HttpProblem(
          504,
          statusTitle(504),
          `the scoring debug call did not finish within ${(DEBUG_TIMEOUT_MS + DEBUG_ANSWER_GRACE_MS) / 1000} s: ${outcome.message}. Nothing was stored.`,
        );
      default:
        throw new HttpProblem(
          503,
          statusTitle(503),
          `the scoring debug call could not be run: ${outcome.message}. Nothing was stored.`,
        );
    }
  } finally {
    if (sealed) await dropCallJudgeKey(deps.db, sealed);
  }
}

function send(request: FastifyRequest, reply: FastifyReply, view: ScoringConfig): FastifyReply | ScoringConfig {
  const accept = request.headers.accept ?? '';
  if (YAML_TYPES.some((t) => accept.includes(t))) {
    return reply.type('application/yaml; charset=utf-8').send(stringifyYaml(view, { lineWidth: 0 }));
  }
  return view;
}
