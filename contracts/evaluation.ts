import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Domain, MODEL_TYPES } from './domain';
import { DatasetId } from './dataset';
import { nullable, Timestamp, Uuid } from './common';
import { GENERATION_FIELDS, PromptTemplateInput } from './generation';
import { BackboneTasks, BackboneTasksInput } from './backbone';
import { Prices } from './tokens';

export const ApiMode = Type.Union([Type.Literal('chat'), Type.Literal('completion')], {
  description: 'one of chat, completion',
});
export type ApiMode = Static<typeof ApiMode>;

const httpUrl = (what: string) =>
  Type.String({
    pattern: '^https?://[^\\s]+$',
    maxLength: 2048,
    description: `must be an http(s) URL of at most 2,048 characters (${what})`,
  });

export const ApiDeployment = Type.Object(
  {
    method: Type.Literal('api'),
    endpoint: httpUrl('the OpenAI-compatible base URL, e.g. http://host:8000/v1'),
    onlineModelName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'must be 1–256 characters' }),
    ),
    apiKey: Type.Optional(
      Type.Union([
        Type.String({ minLength: 1, maxLength: 4096, description: 'must be 1–4,096 characters' }),
        Type.Null(),
      ]),
    ),
    apiMode: Type.Optional(ApiMode),
    prices: Type.Optional(Prices),
  },
  { additionalProperties: false },
);

export const PRIORITIES = ['high', 'medium', 'low'] as const;
export const PrivateDeployment = Type.Object(
  {
    method: Type.Literal('private'),
    imageId: Type.String({ minLength: 1, maxLength: 256, description: 'must name an image' }),
    priority: Type.Union(
      PRIORITIES.map((p) => Type.Literal(p)),
      { description: 'one of high, medium, low' },
    ),
    gpuType: Type.String({ minLength: 1, maxLength: 64, description: 'must name a GPU type' }),
    gpuCount: Type.Integer({
      minimum: 1,
      maximum: 8,
      description: 'must be an integer from 1 to 8 (units of the GPU type; one slot for a CPU-only type)',
    }),
  },
  { additionalProperties: false },
);

/**
 * Evaluation only: no model is called; the owner uploads each dataset's predictions
 * (PUT /v1/evaluations/{id}/predictions/{datasetId}) and runs score them (docs/evaluation-modes.md).
 */
export const PredictionsDeployment = Type.Object(
  { method: Type.Literal('predictions') },
  { additionalProperties: false },
);

export const Deployment = Type.Union([ApiDeployment, PrivateDeployment, PredictionsDeployment], {
  discriminator: 'method',
  description: 'method must be api, private or predictions',
});
export type Deployment = Static<typeof Deployment>;

export const ModelInfo = Type.Object(
  {
    type: Type.Optional(
      Type.Union(
        MODEL_TYPES.map((t) => Type.Literal(t)),
        {
          description:
            "one of base, sft, backbone: the model types the domain's form offers (docs/domains.md; Audio and Safety have none)",
        },
      ),
    ),
    paperUrl: Type.Optional(Type.Union([httpUrl('paper link'), Type.Null()])),
    modelUrl: Type.Optional(Type.Union([httpUrl('model link'), Type.Null()])),
  },
  { additionalProperties: false },
);
export type ModelInfo = Static<typeof ModelInfo>;

const systemPrompt = Type.String({ maxLength: 8192, description: 'must be at most 8,192 characters' });
const G = GENERATION_FIELDS;

export const InferenceParams = Type.Object(
  {
    maxTokens: Type.Integer({
      minimum: 1,
      maximum: 131072,
      default: 512,
      description: 'must be an integer from 1 to 131,072',
    }),
    temperature: Type.Number({ minimum: 0, maximum: 2, default: 0, description: 'must be a number from 0 to 2' }),
    topP: Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'must be a number from 0 to 1' }),
    systemPrompt: Type.Optional(systemPrompt),
    // Absent: not sent, the server's own default applies (contracts/generation.ts).
    topK: Type.Optional(G.topK),
    repetitionPenalty: Type.Optional(G.repetitionPenalty),
    doSample: Type.Optional(G.doSample),
    stop: Type.Optional(G.stop),
    seed: Type.Optional(G.seed),
    maxModelLen: Type.Optional(G.maxModelLen),
    template: Type.Optional(G.template),
  },
  { additionalProperties: false },
);
export type InferenceParams = Static<typeof InferenceParams>;

/** A field the bodies may set, or clear with null (it is then not sent, as if never set). */
const clearable = <T extends TSchema>(schema: T) =>
  Type.Optional(nullable(schema, { description: `${schema.description as string}, or null to remove it` }));

/** Inference parameters as the create and edit bodies take them: any subset; null removes an optional one. */
export const InferenceInput = Type.Object(
  {
    maxTokens: Type.Optional(InferenceParams.properties.maxTokens),
    temperature: Type.Optional(InferenceParams.properties.temperature),
    topP: Type.Optional(InferenceParams.properties.topP),
    systemPrompt: clearable(systemPrompt),
    topK: clearable(G.topK),
    repetitionPenalty: clearable(G.repetitionPenalty),
    doSample: clearable(G.doSample),
    stop: clearable(G.stop),
    seed: clearable(G.seed),
    maxModelLen: clearable(G.maxModelLen),
    template: Type.Optional(PromptTemplateInput),
  },
  { additionalProperties: false },
);
export type InferenceInput = Static<typeof InferenceInput>;

/**
 * MAX_CONCURRENCY and MAX_RETRY_PER_QUERY of the seed, plus a per-request timeout, run_eval's retry
 * delay cap and the wait for a ready model.
 */
export const RunLimits = Type.Object(
  {
    maxConcurrency: Type.Integer({
      minimum: 1,
      maximum: 512,
      default: 24,
      description: 'must be an integer from 1 to 512',
    }),
    maxRetryPerQuery: Type.Integer({
      minimum: 0,
      maximum: 16,
      default: 3,
      description: 'must be an integer from 0 to 16',
    }),
    requestTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 60_000,
      description: 'must be an integer from 100 to 3,600,000',
    }),
    /**
     * run_eval's max_retrying_delay: the longest wait between two attempts of one request, the
     * server's Retry-After included. Absent (runs launched before it existed): the built-in back-off.
     */
    maxRetryDelayMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 600_000,
        default: 60_000,
        description: 'must be an integer from 100 to 600,000 (milliseconds)',
      }),
    ),
    /**
     * How long a formal run waits for its model to be ready before its first dataset; absent: the
     * platform's default. The platform's cap bounds it either way (config/env.ts).
     */
    readyTimeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400,
        description: 'must be an integer from 1 to 86,400',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RunLimits = Static<typeof RunLimits>;

export const DEFAULT_INFERENCE: InferenceParams = { maxTokens: 512, temperature: 0, topP: 1 };
export const DEFAULT_LIMITS: RunLimits = {
  maxConcurrency: 24,
  maxRetryPerQuery: 3,
  requestTimeoutMs: 60_000,
  maxRetryDelayMs: 60_000,
};

const description = Type.String({ maxLength: 256, description: 'must be at most 256 characters' });
const datasets = Type.Array(DatasetId, {
  minItems: 1,
  maxItems: 64,
  uniqueItems: true,
  description: 'must list 1–64 distinct dataset ids',
});

/**
 * CV and Audio only (docs/backbones.md): the form's evaluation tasks, each with the adaptation
 * method its preset head is fine-tuned with. Required there, refused elsewhere.
 */
export const BackboneInput = Type.Object(
  { tasks: BackboneTasksInput },
  { additionalProperties: false, description: 'the evaluation tasks of a CV or Audio backbone evaluation' },
);
export type BackboneInput = Static<typeof BackboneInput>;

export const CreateEvaluationBody = Type.Object(
  {
    domain: Domain,
    modelName: Type.String({ minLength: 1, maxLength: 128, description: 'is required' }),
    description: Type.Optional(description),
    datasets,
    deployment: Deployment,
    robustness: Type.Boolean({ description: 'must be true or false' }),
    modelInfo: ModelInfo,
    acknowledgeNoTestAnnotations: Type.Boolean({ description: 'must be true' }),
    inference: Type.Optional(InferenceInput),
    limits: Type.Optional(Type.Partial(RunLimits, { additionalProperties: false })),
    backbone: Type.Optional(BackboneInput),
  },
  { additionalProperties: false },
);
export type CreateEvaluationBody = Static<typeof CreateEvaluationBody>;

/** Everything but modelName and domain may change; those two are rejected with a clear message. */
export const PatchEvaluationBody = Type.Object(
  {
    modelName: Type.Optional(Type.Unknown()),
    domain: Type.Optional(Type.Unknown()),
    description: Type.Optional(description),
    datasets: Type.Optional(datasets),
    deployment: Type.Optional(Deployment),
    robustness: Type.Optional(Type.Boolean({ description: 'must be true or false' })),
    modelInfo: Type.Optional(ModelInfo),
    acknowledgeNoTestAnnotations: Type.Optional(Type.Boolean({ description: 'must be true' })),
    inference: Type.Optional(InferenceInput),
    limits: Type.Optional(Type.Partial(RunLimits, { additionalProperties: false })),
    backbone: Type.Optional(BackboneInput),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchEvaluationBody = Static<typeof PatchEvaluationBody>;

/** The deployment as stored and shown: an API deployment says whether a key is stored, never the key. */
export const PublicApiDeployment = Type.Object({
  method: Type.Literal('api'),
  endpoint: Type.String(),
  onlineModelName: Type.Optional(Type.String()),
  apiMode: Type.Optional(ApiMode),
  prices: Type.Optional(Prices),
  apiKeySet: Type.Boolean({ description: 'whether an API key is stored; the key itself is never returned' }),
});

export const PublicDeployment = Type.Union([PublicApiDeployment, PrivateDeployment, PredictionsDeployment]);
export type PublicDeployment = Static<typeof PublicDeployment>;

export const EvaluationView = Type.Object({
  id: Uuid,
  ownerId: Uuid,
  domain: Domain,
  modelName: Type.String(),
  description: Type.String(),
  datasets: Type.Array(Type.String()),
  deployment: PublicDeployment,
  robustness: Type.Boolean(),
  modelInfo: ModelInfo,
  inference: InferenceParams,
  limits: RunLimits,
  backbone: Type.Optional(
    Type.Object(
      { tasks: BackboneTasks },
      { description: 'CV and Audio: the evaluation tasks with their adaptation methods (docs/backbones.md)' },
    ),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deletedAt: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'when the owner deleted the evaluation; present only then (only admins see deleted evaluations)',
    }),
  ),
});
export type EvaluationView = Static<typeof EvaluationView>;

export const EvaluationPage = Type.Object({
  items: Type.Array(EvaluationView),
  nextCursor: nullable(Type.String(), {
    description: 'pass as cursor to read the next page; null on the last page',
  }),
});
