/**
 * How an evaluation's answers are scored: per dataset (or by a default entry) a rule metric with
 * its options, or a judge model reached over an OpenAI-compatible API with a prompt template and
 * the preprocessing and postprocessing steps that turn an answer and the judge's reply into a
 * score. The same schema checks the JSON body and the YAML document ("quick configuration").
 *
 * The judge's API key is write-only: accepted here, stored sealed (db/secretBox.ts) and shown as
 * JUDGE_KEY_MASK. Sending the mask back (a GET's output PUT again) keeps the stored key.
 */
import { Prices } from './tokens';
import { Type, type Static } from '@sinclair/typebox';
import {
  BACKBONE_METRICS,
  type BackboneMetricName,
  CODE_METRIC,
  MULTIMODAL_METRICS,
  SAFETY_METRIC,
  TEXT_METRICS,
  type MetricName,
  type MultimodalMetricName,
} from './dataset';
import { MetricOptions } from './metricOptions';
import { literalUnion } from './literalUnion';

/**
 * Rule metrics of the registry, plus `judge`. `pass_at_k` scores programs in the code sandbox, not
 * text: a configuration names it only for a code dataset, to set how many completions to ask (n)
 * and which pass@k to report (checkScoringConfig.ts). `safety` likewise only for a safety dataset,
 * to name the judge its rubric is put to (docs/safety.md). The multimodal metrics are no choice of
 * a configuration: a multimodal dataset is scored by its task's protocol, and a backbone dataset by its fine-tune job.
 */
export const SCORING_METRICS = [...TEXT_METRICS, CODE_METRIC, 'judge', SAFETY_METRIC] as const;
export type ScoringMetric = Exclude<MetricName, MultimodalMetricName | BackboneMetricName> | 'judge';
export const ScoringMetricSchema = literalUnion(SCORING_METRICS, {
  description: `one of ${SCORING_METRICS.join(', ')}`,
});

/** What scored a dataset of a run: a metric, a judge, or the evaluation's custom image (its metrics.json). */
export const CUSTOM_IMAGE_SCORER = 'custom_image' as const;
export const DATASET_SCORERS = [
  ...SCORING_METRICS,
  ...MULTIMODAL_METRICS,
  ...BACKBONE_METRICS,
  CUSTOM_IMAGE_SCORER,
] as const;
export type DatasetScorer = ScoringMetric | MultimodalMetricName | BackboneMetricName | typeof CUSTOM_IMAGE_SCORER;
export const DatasetScorerSchema = literalUnion(DATASET_SCORERS, {
  description: `one of ${DATASET_SCORERS.join(', ')} (custom_image: the evaluation's own image wrote the metrics)`,
});

/** What a stored judge key is shown as; sent back, it means "keep the stored key". */
export const JUDGE_KEY_MASK = '********';

/** Placeholders a judge prompt may use; `{answer}` is required. `{{` and `}}` are literal braces. */
export const PROMPT_PLACEHOLDERS = ['question', 'answer', 'reference', 'choices'] as const;
export type PromptPlaceholder = (typeof PROMPT_PLACEHOLDERS)[number];

export const DEFAULT_JUDGE_PROMPT = [
  'You are grading an answer to a question against a reference answer.',
  '',
  'Question:',
  '{question}',
  '',
  'Reference answer:',
  '{reference}',
  '',
  'Answer to grade:',
  '{answer}',
  '',
  'Reply with one line "Score: N/10", where 10 means the answer agrees with the reference and 0 means it does not, then one line of reasons.',
].join('\n');

const httpUrl = Type.String({
  pattern: '^https?://[^\\s]+$',
  maxLength: 2048,
  description:
    'must be an http(s) URL of at most 2,048 characters (the judge’s OpenAI-compatible base URL, e.g. http://host:8000/v1)',
});

const Pattern = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'must be a regular expression of 1–512 characters',
});

/** Steps that take text to text; usable before the prompt (on the answer) and on the judge's reply. */
const TEXT_OPS = ['trim', 'lowercase', 'stripThinking', 'lastLine', 'firstLine'] as const;
const TextOp = Type.Union(
  TEXT_OPS.map((o) => Type.Literal(o)),
  { description: `one of ${TEXT_OPS.join(', ')}` },
);

const RegexExtract = Type.Object(
  {
    regexExtract: Type.Object(
      {
        pattern: Pattern,
        group: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 9,
            description: 'must be an integer from 0 to 9 (default 1, or 0 when the pattern has no group)',
          }),
        ),
        flags: Type.Optional(
          Type.String({ pattern: '^[ims]{0,3}$', description: 'must be made of the flags i, m, s' }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const Truncate = Type.Object(
  {
    truncate: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      description: 'must be an integer from 1 to 100,000 (characters kept)',
    }),
  },
  { additionalProperties: false },
);

export const PreprocessStep = Type.Union([TextOp, RegexExtract, Truncate], {
  description: `must be one of ${TEXT_OPS.join(', ')}, {regexExtract: {pattern, group?, flags?}} or {truncate: N}`,
});
export type PreprocessStep = Static<typeof PreprocessStep>;

// Maps are objects whose every property follows one schema (additionalProperties); their keys and
// sizes are checked by scoring/judge/checkScoringConfig.ts, which names the offending key.
const MapLabels = Type.Object(
  {
    mapLabels: Type.Object(
      {},
      {
        additionalProperties: Type.Number({ description: 'must be a number' }),
        minProperties: 1,
        description: 'must map 1–64 labels (matched trimmed and case-insensitively) to numbers',
      },
    ),
  },
  { additionalProperties: false },
);
const Scale = Type.Object(
  {
    scale: Type.Object(
      {
        min: Type.Number({ description: 'must be a number: the lowest score the judge gives' }),
        max: Type.Number({ description: 'must be a number: the highest score the judge gives' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const POST_OPS = [...TEXT_OPS, 'number', 'clamp'] as const;
const PostOp = Type.Union(
  POST_OPS.map((o) => Type.Literal(o)),
  { description: `one of ${POST_OPS.join(', ')}` },
);

export const PostprocessStep = Type.Union([PostOp, RegexExtract, Truncate, MapLabels, Scale], {
  description: `must be one of ${POST_OPS.join(', ')}, {regexExtract: …}, {truncate: N}, {mapLabels: {label: number}} or {scale: {min, max}}`,
});
export type PostprocessStep =
  Exclude<Static<typeof PostprocessStep>, { mapLabels: unknown }> | { mapLabels: Record<string, number> };

export const DEFAULT_POSTPROCESS: PostprocessStep[] = [
  { regexExtract: { pattern: 'Score:\\s*(-?\\d+(?:\\.\\d+)?)', flags: 'i' } },
  { scale: { min: 0, max: 10 } },
  'clamp',
];

export const JudgeEndpoint = Type.Object(
  {
    baseUrl: httpUrl,
    model: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'must be 1–256 characters: the judge model’s name at its endpoint',
    }),
    apiKey: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
        description: `must be a string of 1–4,096 characters, null (no key), or ${JUDGE_KEY_MASK} to keep the stored key`,
      }),
    ),
    temperature: Type.Optional(
      Type.Number({ minimum: 0, maximum: 2, description: 'must be a number from 0 to 2 (default 0)' }),
    ),
    maxTokens: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 32_768, description: 'must be an integer from 1 to 32,768 (default 512)' }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 600_000,
        description: 'must be an integer from 100 to 600,000 (default 60,000)',
      }),
    ),
    prices: Type.Optional(Prices),
  },
  { additionalProperties: false },
);
export type JudgeEndpoint = Static<typeof JudgeEndpoint>;

export const MetricConfig = Type.Object(
  {
    metric: ScoringMetricSchema,
    options: Type.Optional(MetricOptions),
    judge: Type.Optional(JudgeEndpoint),
    systemPrompt: Type.Optional(Type.String({ maxLength: 8192, description: 'must be at most 8,192 characters' })),
    prompt: Type.Optional(Type.String({ minLength: 1, maxLength: 32_768, description: 'must be 1–32,768 characters' })),
    preprocess: Type.Optional(
      Type.Array(PreprocessStep, { maxItems: 16, description: 'must be a list of at most 16 steps' }),
    ),
    postprocess: Type.Optional(
      Type.Array(PostprocessStep, { maxItems: 16, description: 'must be a list of at most 16 steps' }),
    ),
  },
  { additionalProperties: false },
);
export type MetricConfig = Omit<Static<typeof MetricConfig>, 'postprocess'> & { postprocess?: PostprocessStep[] };

/** MAX_JUDGING_CONCURRENCY and MAX_JUDGING_RETRY_PER_Q of the seed. */
export const JudgingLimits = Type.Object(
  {
    maxJudgingConcurrency: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 64, description: 'must be an integer from 1 to 64 (default 8)' }),
    ),
    maxJudgingRetryPerQ: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10, description: 'must be an integer from 0 to 10 (default 2)' }),
    ),
  },
  { additionalProperties: false },
);
export type JudgingLimits = Static<typeof JudgingLimits>;
export const DEFAULT_JUDGING_LIMITS: Required<JudgingLimits> = { maxJudgingConcurrency: 8, maxJudgingRetryPerQ: 2 };

/** Names a job may be given in `env`: shell-style, and none of the platform's own. */
export const CUSTOM_ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
export const RESERVED_ENV_PREFIXES = ['EVAL_', 'PROCTOR_'] as const;
export const MAX_CUSTOM_PARAMETERS_BYTES = 16 * 1024;

/**
 * Custom evaluation images (TI-ONE's custom mode): each dataset of a run is evaluated by running
 * this image once as a container job; it calls the model through a per-job proxy and writes
 * `${EVAL_OUTPUT_DIR}/metrics.json` (docs/custom-evaluation-images.md).
 */
export const CustomImageConfig = Type.Object(
  {
    imageId: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'must be the id of an approved image you may use (GET /v1/images)',
    }),
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096, description: 'must be 1–4,096 characters' }), {
        minItems: 1,
        maxItems: 64,
        description: "must list 1–64 arguments (replaces the image's command)",
      }),
    ),
    parameters: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'must be a JSON object of at most 16 KiB, given to the job as EVAL_PARAMETERS',
      }),
    ),
    env: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 4096, description: 'must be at most 4,096 characters' }), {
        maxProperties: 64,
        description:
          'must map at most 64 names (capital letters, digits and _, not starting EVAL_ or PROCTOR_) to text; stored in clear, so no secrets',
      }),
    ),
    primaryMetric: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "must be 1–64 characters: the metrics.json entry that is each dataset's score (default: the first)",
      }),
    ),
    mountDatasets: Type.Optional(
      Type.Boolean({
        description: "must be true or false (default true: each dataset's items are mounted read-only as JSONL)",
      }),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          timeoutSeconds: Type.Optional(
            Type.Integer({
              minimum: 5,
              maximum: 86_400,
              description: "must be an integer from 5 to 86,400 (default 3,600): each job's wall-clock limit",
            }),
          ),
          memoryMb: Type.Optional(
            Type.Integer({
              minimum: 64,
              maximum: 262_144,
              description: 'must be an integer from 64 to 262,144 (default 4,096)',
            }),
          ),
          cpus: Type.Optional(
            Type.Number({ minimum: 0.1, maximum: 64, description: 'must be a number from 0.1 to 64 (default 2)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CustomImageConfig = Static<typeof CustomImageConfig>;

export const ScoringConfig = Type.Object(
  {
    customImage: Type.Optional(CustomImageConfig),
    default: Type.Optional(MetricConfig),
    datasets: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: MetricConfig,
          description: 'must map dataset ids of the evaluation to metric configurations',
        },
      ),
    ),
    limits: Type.Optional(JudgingLimits),
  },
  { additionalProperties: false },
);
export interface ScoringConfig {
  customImage?: CustomImageConfig;
  default?: MetricConfig;
  datasets?: Record<string, MetricConfig>;
  limits?: JudgingLimits;
}

/** A judge as stored: the key replaced by a reference to its sealed row. */
export type StoredJudge = Omit<JudgeEndpoint, 'apiKey'> & { apiKeyId: string | null };
export type StoredMetricConfig = Omit<MetricConfig, 'judge'> & { judge?: StoredJudge };
export interface StoredScoringConfig {
  customImage?: CustomImageConfig;
  default?: StoredMetricConfig;
  datasets?: Record<string, StoredMetricConfig>;
  limits?: JudgingLimits;
}

/** A judge as shown: the key masked. */
export type JudgeView = Omit<JudgeEndpoint, 'apiKey'> & { apiKey: string | null };

/**
 * The scoring of one dataset of a run, frozen at launch. A judge metric names its key by the id of
 * the sealed row, so no secret enters the run's configuration or any workflow history.
 */
export interface FrozenMetric {
  metric: ScoringMetric;
  options?: MetricOptions;
  judge?: StoredJudge;
  systemPrompt?: string;
  prompt?: string;
  preprocess?: PreprocessStep[];
  postprocess?: PostprocessStep[];
}

/** A custom image as a launch freezes it: the reference the engine runs and everything the job is given. */
export interface FrozenCustomImage extends CustomImageConfig {
  imageRef: string;
  /** `name:tag` of the image, for logs and the report. */
  imageName: string;
}

export interface RunScoring {
  limits: Required<JudgingLimits>;
  /** Every dataset of the run is evaluated by this image (docs/custom-evaluation-images.md). */
  customImage?: FrozenCustomImage;
  /** By dataset id; a dataset absent here is scored by its own metric with no options. */
  datasets: Record<string, FrozenMetric>;
}

/** The entry that applies to a dataset: its own, else the default, else none. */
export function metricConfigFor<T>(
  config: { default?: T; datasets?: Record<string, T> } | null | undefined,
  datasetId: string,
): T | null {
  return config?.datasets?.[datasetId] ?? config?.default ?? null;
}
