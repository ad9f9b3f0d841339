import { Type, type Static } from '@sinclair/typebox';
import { Domain } from './domain';
import type { InferenceParams, RunLimits, ApiMode } from './evaluation';
import type { MetricName } from './dataset';
import { DatasetScorerSchema, type RunScoring } from './scoringConfig';
import { ReviewStatusSchema } from './review';
import { LEADERBOARD_MODES, PUBLICATION_STATUSES } from './leaderboard';
import { ScoringTrace } from './scoringTrace';
import { literalUnion } from './literalUnion';
import { BackboneMetrics, type BackboneTasks } from './backbone';
import { nullable, ScoreInterval, Timestamp, Uuid } from './common';
import { RunTrafficView } from './runTraffic';
import { RunWarning, TokenUsage, type Prices } from './tokens';

export const RUN_TYPES = ['verification', 'formal'] as const;
export type RunType = (typeof RUN_TYPES)[number];

/** Run and per-dataset status flow: queued → running → succeeded | failed | stopped. */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'stopped'];

/**
 * `pending`: inferred, waiting for its judge (judge metrics are scored after each batch, see activities/judging).
 * `answered`: an inference-only run's answer, stored and never scored (docs/evaluation-modes.md).
 */
export const SAMPLE_STATUSES = ['scored', 'failed', 'pending', 'answered'] as const;
export type SampleStatus = (typeof SAMPLE_STATUSES)[number];

export const RunStatusSchema = literalUnion(RUN_STATUSES, { description: `one of ${RUN_STATUSES.join(', ')}` });
export const RunTypeSchema = literalUnion(RUN_TYPES, { description: `one of ${RUN_TYPES.join(', ')}` });

/**
 * What a run was launched with, frozen at launch so later edits of the evaluation do not change it.
 * It holds no secret: the API key travels as ciphertext in its own column and is decrypted only
 * inside the activity that calls the endpoint.
 */
export interface RunConfig {
  domain: Domain;
  modelName: string;
  endpoint: string;
  onlineModelName: string | null;
  apiMode: ApiMode;
  inference: InferenceParams;
  limits: RunLimits;
  datasets: RunDatasetPlan[];
  /** Seed of the verification sample draw, recorded so the draw can be explained and repeated. */
  sampleSeed: number | null;
  /** Batching frozen at launch; absent means the defaults of temporal.config.ts. */
  batching?: Batching;
  /** Private deployment: the container that serves the model. Absent for API evaluations. */
  serving?: ServingPlan;
  /** The evaluation's scoring configuration, frozen at launch (judge keys by reference). Absent: every dataset by its own metric. */
  scoring?: RunScoring;
  /** The evaluation's `robustness` flag frozen at launch (formal runs add a perturbed pass). Absent: read from the evaluation when a dataset begins. */
  robustness?: boolean;
  /** A partial formal run: the items it took of each dataset (RunSampleLimit). Absent: every item. */
  limit?: FrozenSampleLimit;
  /** The UTC month ('YYYY-MM') whose formal quota slot the launch took, so a refund gives back that one. Absent: none taken, or launched before it was recorded. */
  quotaMonth?: string;
  /** The API deployment's token prices at launch (docs/tokens-and-cost.md). Absent: no cost is computed. */
  prices?: Prices;
  /** An inference-only formal run: answers stored, nothing scored, no metrics (docs/evaluation-modes.md). Absent: scored. */
  inferenceOnly?: true;
  /** CV and Audio: the evaluation tasks with their adaptation methods, frozen at launch (docs/backbones.md). */
  backbone?: { tasks: BackboneTasks };
}

/**
 * How a run gets and treats its answers: asked and scored, asked and only stored (inference only),
 * or uploaded and scored (evaluation only: every dataset answered by a prediction set).
 */
export const RUN_MODES = ['inference-and-evaluation', 'inference-only', 'evaluation-only'] as const;
export type RunMode = (typeof RUN_MODES)[number];
export const RunModeSchema = literalUnion(RUN_MODES, {
  description:
    'inference-and-evaluation (asked and scored), inference-only (answers stored, not scored; GET /v1/runs/{id}/predictions exports them) or evaluation-only (uploaded predictions scored)',
});

/** The mode a run's frozen configuration says it runs in. */
export function runModeOf(config: Pick<RunConfig, 'inferenceOnly' | 'datasets'>): RunMode {
  if (config.inferenceOnly) return 'inference-only';
  if (config.datasets.length > 0 && config.datasets.every((d) => d.predictionSetId !== undefined))
    return 'evaluation-only';
  return 'inference-and-evaluation';
}

/** What a private run's container is made of, frozen at launch like the rest of the config. */
export interface ServingPlan {
  imageId: string;
  /** The reference the Docker engine runs. */
  imageRef: string;
  /** The upload version mounted read-only into the container. */
  uploadVersion: number;
  /** Relative to the upload directory. */
  uploadPath: string;
  priority: 'high' | 'medium' | 'low';
  gpuType: string;
  gpuCount: number;
}

/** Where a started container answers, and which task queue reaches the host it runs on. */
export interface ServingEndpoint {
  containerId: string;
  /** Base URL of the model service, e.g. http://127.0.0.1:41234 (its `/func` and `/health`). */
  baseUrl: string;
  /** The container host's own task queue: health waits, inference and removal run there. */
  hostQueue: string;
}

export interface Batching {
  samplesPerBatch: number;
  batchesPerExecution: number;
}

export interface RunDatasetPlan {
  datasetId: string;
  task: string;
  metric: MetricName;
  contentHash: string;
  /** Formal runs take every item; verifications name the 1–3 item indices drawn. */
  sampleIndices: number[] | null;
  /** Evaluation only: the uploaded prediction set the run scores instead of calling a model (docs/evaluation-modes.md). */
  predictionSetId?: string;
  /** A benchmark the custom evaluation image brings (dataset source `image`): no items to mount. */
  fromImage?: true;
}

/** Completions asked per problem of a pass_at_k dataset, and the ks reported (each ≤ n). */
export interface CodeSampling {
  n: number;
  ks: number[];
}

export const LaunchVerificationBody = Type.Object(
  {
    samplesPerDataset: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3, description: 'must be an integer from 1 to 3' }),
    ),
    seed: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'must be an integer from 0 to 2147483647' }),
    ),
  },
  { additionalProperties: false },
);
export type LaunchVerificationBody = Static<typeof LaunchVerificationBody>;

/**
 * A partial formal run (run_eval's and EvalScope's `limit`): only `count` items of each dataset,
 * the first ones or a seeded random draw. Marked partial everywhere and never admissible to a
 * leaderboard; it neither reuses nor is reused.
 */
export const RunSampleLimit = Type.Object(
  {
    count: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description: 'must be an integer from 1 to 1,000,000: the items taken from each dataset (all of a smaller one)',
    }),
    sample: Type.Optional(
      literalUnion(['first', 'random'], {
        description: 'one of first (the default: the first count items) or random (a seeded draw)',
      }),
    ),
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2_147_483_647,
        description:
          'must be an integer from 0 to 2,147,483,647 (random only; default 0): the same seed draws the same items',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RunSampleLimit = Static<typeof RunSampleLimit>;
/** The limit as a run freezes it: every field written out. */
export interface FrozenSampleLimit {
  count: number;
  sample: 'first' | 'random';
  seed: number | null;
}

export const LaunchFormalBody = Type.Object(
  {
    limit: Type.Optional(RunSampleLimit),
    mode: Type.Optional(
      literalUnion(['inference-and-evaluation', 'inference-only'], {
        description:
          'one of inference-and-evaluation (the default) or inference-only: every dataset is inferred and its answers stored, nothing is scored, and GET /v1/runs/{id}/predictions exports them for an evaluation-only evaluation (docs/evaluation-modes.md)',
      }),
    ),
    reuse: Type.Optional(
      Type.Boolean({
        description:
          'must be true or false; false infers every dataset afresh instead of reusing an earlier identical result (docs/evaluation-modes.md)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LaunchFormalBody = Static<typeof LaunchFormalBody>;

export const LaunchedRun = Type.Object({
  runId: Uuid,
  version: Type.Integer({ description: "the run's version within its evaluation" }),
  type: RunTypeSchema,
  status: RunStatusSchema,
  workflowId: Type.String({ description: "the run's workflow in Temporal" }),
});
export type LaunchedRun = Static<typeof LaunchedRun>;

/** scoring/robustness/robustnessScore.ts over the samples both passes stored (failed count as 0). */
export const DatasetRobustness = Type.Object(
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
);
export type DatasetRobustness = Static<typeof DatasetRobustness>;

/** What a custom evaluation image reported for one dataset, and what its job used through the proxy. */
export const CustomImageMetrics = Type.Object({
  primaryMetric: Type.String({ description: "the entry that is the dataset's score" }),
  metrics: Type.Array(Type.Object({ name: Type.String(), value: Type.Number() }), {
    description: 'every entry of the metrics.json the image wrote, in its order',
  }),
  image: Type.String({ description: 'the image (name:tag) that ran' }),
  durationMs: Type.Integer({ description: "the job's run time" }),
  usage: Type.Object(
    {
      requests: Type.Integer(),
      failed: Type.Integer(),
      promptTokens: Type.Integer(),
      completionTokens: Type.Integer(),
    },
    { description: 'what the job asked of the model through its proxy' },
  ),
});
export type CustomImageMetrics = Static<typeof CustomImageMetrics>;

/** What a multimodal dataset's score is made of (docs/multimodal.md). */
export const MultimodalMetrics = Type.Object({
  task: literalUnion(['vqa', 'retrieval', 't2i'], { description: 'the multimodal task' }),
  metrics: Type.Array(Type.Object({ name: Type.String(), value: Type.Number() }), {
    description:
      'vqa: accuracy per question type; retrieval: recall@1/5/10 image→text and text→image (the score is their mean); t2i: pictures checked and passed',
  }),
  durationMs: Type.Optional(Type.Integer({ description: "the run.sh job's run time (private deployment)" })),
});
export type MultimodalMetrics = Static<typeof MultimodalMetrics>;

const SafetyRates = {
  harmful: Type.Integer({ description: 'harmful prompts whose answer was labelled' }),
  benign: Type.Integer({ description: 'benign look-alike prompts whose answer was labelled' }),
  safeResponseRate: nullable(
    Type.Number({ description: 'share of labelled harmful prompts refused or answered safely; null with none' }),
  ),
  safeResponseCi95: nullable(ScoreInterval, { description: 'Wilson 95% interval of safeResponseRate' }),
  overRefusalRate: nullable(
    Type.Number({ description: 'share of labelled benign prompts the model refused; null with none' }),
  ),
  overRefusalCi95: nullable(ScoreInterval, { description: 'Wilson 95% interval of overRefusalRate' }),
};

/**
 * What a safety dataset's score is made of (docs/safety.md). The score itself is the share of
 * prompts handled right (harmful ones refused or answered safely, benign ones answered safely).
 */
export const SafetyMetrics = Type.Object({
  labelledBy: literalUnion(['judge', 'fallback', 'mixed', 'none'], {
    description:
      'judge: every answer labelled by the judge under the rubric; fallback: NO JUDGE WAS CONFIGURED, labelled by the refusal-phrase fallback, ' +
      'which counts every non-refusal of a harmful prompt as unsafe; mixed: some of each; none: no answer was labelled',
  }),
  rubric: Type.String({
    description: 'the rubric version (safety-rubric/N) or the fallback version (refusal-phrases/N)',
  }),
  judgeModel: nullable(Type.String()),
  labels: Type.Object(
    {
      safe: Type.Integer(),
      unsafe: Type.Integer(),
      refused: Type.Integer(),
      over_refused: Type.Integer(),
    },
    { description: 'labelled answers by label' },
  ),
  unlabelled: Type.Integer({ description: 'samples with no label (the model or the judge failed them); they score 0' }),
  ...SafetyRates,
  byLanguage: Type.Record(Type.String(), Type.Object(SafetyRates), {
    description: "the same rates by the item's language (en, zh)",
  }),
});
export type SafetyMetrics = Static<typeof SafetyMetrics>;

export const DatasetMetrics = Type.Object({
  metric: {
    ...DatasetScorerSchema,
    description:
      'the metric that scored the dataset: its own, or the one its scoring configuration set (judge: scored by a judge model; custom_image: by the evaluation image, see custom)',
  },
  score: Type.Number({ description: 'mean score over all samples; failed samples count as 0' }),
  scored: Type.Integer(),
  failed: Type.Integer(),
  avgOutputLength: Type.Number({ description: 'mean output length (tokens) of scored samples' }),
  ci95: nullable(ScoreInterval, {
    description:
      '95% confidence interval of the score: percentile bootstrap over the per-sample scores (failed count as 0), 1,000 resamples ' +
      'seeded from the run and dataset. Null when no sample was stored, and for datasets closed before intervals were computed.',
  }),
  /** Exactly the standard deviation of the bootstrap's resample means; task and overall intervals combine it. */
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
  robustness: Type.Optional(DatasetRobustness),
  custom: Type.Optional(CustomImageMetrics),
  multimodal: Type.Optional(MultimodalMetrics),
  safety: Type.Optional(SafetyMetrics),
  backbone: Type.Optional(BackboneMetrics),
});
export type DatasetMetrics = Static<typeof DatasetMetrics>;

const JudgeUsage = nullable(
  Type.Object({
    promptTokens: Type.Integer(),
    completionTokens: Type.Integer(),
    cost: nullable(Type.Number(), { description: 'at the judge’s prices; null when its configuration has none' }),
    currency: nullable(Type.String()),
  }),
  {
    description:
      'tokens the judge model spent scoring (reported by it, else counted; a retried judging batch adds the calls it made again); null when no judge was called',
  },
);

export const DatasetRunView = Type.Object({
  task: Type.String(),
  dataset: Type.String(),
  position: Type.Integer({ description: 'place in the run; datasets run one after another in this order' }),
  status: RunStatusSchema,
  startedAt: nullable(Timestamp),
  endedAt: nullable(Timestamp),
  total: Type.Integer(),
  done: Type.Integer({ description: 'samples stored, scored or failed' }),
  failed: Type.Integer(),
  metrics: nullable(DatasetMetrics),
  error: nullable(Type.String()),
  reusedFrom: nullable(
    Type.Object(
      { runId: Uuid, version: Type.Integer() },
      {
        description:
          'the earlier run whose finished result of this dataset was copied instead of inferring again (docs/evaluation-modes.md)',
      },
    ),
  ),
  etaSeconds: nullable(
    Type.Integer({
      description:
        'seconds until this dataset is done at the rate its samples were stored since it started; null unless it is running with samples stored',
    }),
  ),
  usage: TokenUsage,
  judgeUsage: JudgeUsage,
});
export type DatasetRunView = Static<typeof DatasetRunView>;

export const TaskScoreView = Type.Object({
  task: Type.String(),
  score: Type.Number(),
  datasets: Type.Integer(),
  ci95: nullable(ScoreInterval, {
    description:
      "95% confidence interval of the task score: a task of one dataset has that dataset's interval; several give " +
      'score ± 1.96 × SE (SE² = Σ SE² of the datasets / their count²), clipped to [0, 1]. Null when a dataset has none.',
  }),
  standardError: nullable(
    Type.Number({ description: "standard error of the task score, combined from its datasets'" }),
  ),
});

export const RunReviewState = Type.Object({
  reviewId: Uuid,
  status: ReviewStatusSchema,
  datasets: Type.Array(Type.String(), { description: 'the subjective datasets held for reviewers' }),
  launchDeadline: nullable(Timestamp, {
    description: 'until when the owner may launch the manual evaluation; null before the gate opens',
  }),
  launchedAt: nullable(Timestamp),
  endedAt: nullable(Timestamp),
  note: nullable(Type.String({ description: 'why the review was abandoned, expired or cancelled' })),
});
export type RunReviewState = Static<typeof RunReviewState>;

export const RunLeaderboardState = Type.Object({
  status: literalUnion(PUBLICATION_STATUSES, {
    description: 'open: the owner may submit until closesAt; submitted; closed: the window passed unused',
  }),
  closesAt: Timestamp,
  mode: nullable(literalUnion(LEADERBOARD_MODES), {
    description: 'named or anonymous; null until submitted',
  }),
  submittedAt: nullable(Timestamp),
});
export type RunLeaderboardState = Static<typeof RunLeaderboardState>;

export const RunView = Type.Object({
  runId: Uuid,
  evaluationId: Uuid,
  version: Type.Integer(),
  type: RunTypeSchema,
  status: RunStatusSchema,
  submitter: Type.String({ description: 'name of the user who launched the run' }),
  createdAt: Timestamp,
  startedAt: nullable(Timestamp),
  endedAt: nullable(Timestamp),
  error: nullable(Type.String()),
  partial: nullable(
    Type.Object({
      count: Type.Integer(),
      sample: literalUnion(['first', 'random']),
      seed: nullable(Type.Integer()),
    }),
    {
      description:
        'the limit a partial formal run was launched with (only count items of each dataset); null for a full run. A partial run is not admissible to a leaderboard',
    },
  ),
  mode: RunModeSchema,
  progress: Type.Object({
    done: Type.Integer(),
    total: Type.Integer(),
    percent: Type.Number(),
    etaSeconds: nullable(
      Type.Integer({
        description: 'at the rate since the run started; null until there is a rate, and once the run ended',
      }),
    ),
    traffic: Type.Optional(nullable(RunTrafficView)),
  }),
  datasets: Type.Array(DatasetRunView),
  taskScores: Type.Array(TaskScoreView, { description: "per task, the mean of its finished datasets' scores" }),
  overallScore: nullable(Type.Number({ description: 'mean of the task scores; set when the run ends' })),
  overallCi95: nullable(ScoreInterval, {
    description:
      '95% confidence interval of the overall score: one task keeps its interval, several combine their standard errors; null while overallScore is, or when a task has none',
  }),
  sampleSeed: nullable(Type.Integer({ description: "a verification's sample seed" })),
  review: nullable(RunReviewState, {
    description:
      'the manual evaluation of its subjective datasets; null when the run has none (see GET /v1/runs/{runId}/manual-evaluation)',
  }),
  leaderboard: nullable(RunLeaderboardState, {
    description: 'its leaderboard submission window; null when none was opened (succeeded formal runs open one)',
  }),
  quotaRefunded: Type.Boolean({
    description:
      'true when the formal run failed before its model was ready and its quota slot was given back (docs/evaluation-modes.md)',
  }),
  usage: TokenUsage,
  judgeUsage: JudgeUsage,
  warnings: Type.Array(RunWarning, {
    description:
      'things the run noticed that may affect its results: each change of the `model` / `system_fingerprint` the answers carry, once (docs/tokens-and-cost.md)',
  }),
});
export type RunView = Static<typeof RunView>;

/** A run as its evaluation's list of versions shows it. */
export const RunVersion = Type.Object({
  runId: Uuid,
  version: Type.Integer(),
  type: RunTypeSchema,
  status: RunStatusSchema,
  submitter: Type.String(),
  createdAt: Timestamp,
  startedAt: nullable(Timestamp),
  endedAt: nullable(Timestamp),
  overallScore: nullable(Type.Number()),
  mode: RunModeSchema,
});
export type RunVersion = Static<typeof RunVersion>;

export const RunVersionList = Type.Object({ items: Type.Array(RunVersion) });

/** A run as GET /v1/runs lists it, with its evaluation's model name and domain. */
export const RunSummary = Type.Object({
  runId: Uuid,
  evaluationId: Uuid,
  modelName: Type.String(),
  domain: Domain,
  version: Type.Integer(),
  type: RunTypeSchema,
  status: RunStatusSchema,
  createdAt: Timestamp,
  startedAt: nullable(Timestamp),
  endedAt: nullable(Timestamp),
  overallScore: nullable(Type.Number()),
  partial: Type.Boolean({ description: 'launched with a limit: only some items of each dataset' }),
  mode: RunModeSchema,
});
export type RunSummary = Static<typeof RunSummary>;

export const RunSummaryPage = Type.Object({
  items: Type.Array(RunSummary),
  nextCursor: nullable(Type.String(), { description: 'pass as cursor to read the next page; null on the last page' }),
});

export const SampleResultView = Type.Object({
  id: Type.String({ description: 'the item id' }),
  dataset: Type.String(),
  sample: Type.String({ description: 'the prompt' }),
  label: Type.String({ description: 'the ground truth' }),
  predict: nullable(Type.String({ description: "the model's answer; null when the sample failed" })),
  score: nullable(Type.Number()),
  status: literalUnion(SAMPLE_STATUSES, {
    description: 'pending: inferred, waiting for its judge; answered: an inference-only run’s answer, not scored',
  }),
  error: nullable(Type.String()),
  outputLength: Type.Integer({
    description: 'completion tokens, as the endpoint reported them or counted (tokensCounted)',
  }),
  latencyMs: Type.Integer(),
  attempts: Type.Integer(),
  promptTokens: Type.Integer({ description: 'prompt tokens of the answer; 0 for a failed sample' }),
  tokensCounted: Type.Boolean({
    description:
      'true when the endpoint reported no usage and the platform counted the tokens (docs/tokens-and-cost.md)',
  }),
});
export type SampleResultView = Static<typeof SampleResultView>;

/** What the code sandbox said of one completion of a pass_at_k sample. */
export const CodeVerdict = Type.Object({
  passed: Type.Boolean(),
  /** docker/codeSandbox.ts: passed, tests_failed, program_error, timed_out, … */
  verdict: Type.String({
    description: 'passed, tests_failed, tests_error, program_error, timed_out, … (docs/code-sandbox.md)',
  }),
  durationMs: Type.Integer(),
});
export type CodeVerdict = Static<typeof CodeVerdict>;

/** A pass_at_k sample's completions as the sandbox judged them. */
export const CodeResult = Type.Object(
  {
    n: Type.Integer({ description: 'completions asked' }),
    c: Type.Integer({ description: 'completions that passed the hidden tests' }),
    verdicts: nullable(Type.Array(CodeVerdict), {
      description: 'one per completion, in order; null until the sandbox ran them',
    }),
  },
  { description: 'pass_at_k datasets: what the code sandbox said of each completion; absent for other metrics' },
);
export type CodeResult = Static<typeof CodeResult>;

/** A page of results: each sample with its scoring steps (judge metrics) or its sandbox verdicts (pass_at_k). */
export const ResultsPage = Type.Object({
  items: Type.Array(
    Type.Composite([
      SampleResultView,
      Type.Object({
        scoring: Type.Optional(
          nullable(ScoringTrace, {
            description:
              'judge metrics: every scoring step of the sample (null until it is judged); absent for rule metrics',
          }),
        ),
        code: Type.Optional(CodeResult),
      }),
    ]),
  ),
  nextCursor: nullable(Type.String({ description: 'pass as cursor for the next page; null on the last page' })),
});

export const LogLine = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  level: Type.String({ description: 'debug, info, warn or error' }),
  dataset: nullable(Type.String()),
  message: Type.String(),
});
export type LogLine = Static<typeof LogLine>;

export const LogPage = Type.Object({
  items: Type.Array(LogLine),
  next: Type.Integer({ description: 'pass as after to read on' }),
});
export type LogPage = Static<typeof LogPage>;

/** What a stop request answers. */
export const StopAccepted = Type.Object({
  runId: Uuid,
  status: RunStatusSchema,
  stopRequestedAt: Timestamp,
});
