import { Type, type Static } from '@sinclair/typebox';
import type { Domain } from './domain';
import type { InferenceParams, RunLimits, ApiMode } from './evaluation';
import type { MetricName } from './dataset';
import type { RunScoring, ScoringMetric } from './scoringConfig';
import type { ReviewStatus } from './review';
import type { LeaderboardMode, PublicationStatus } from './leaderboard';

export const RUN_TYPES = ['verification', 'formal'] as const;
export type RunType = (typeof RUN_TYPES)[number];

/** Run and per-dataset status flow: queued → running → succeeded | failed | stopped. */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'stopped'];

/** `pending`: inferred, waiting for its judge (judge metrics are scored after each batch, see activities/judging). */
export type SampleStatus = 'scored' | 'failed' | 'pending';

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

export const LaunchFormalBody = Type.Object(
  {
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

export interface LaunchedRun {
  runId: string;
  version: number;
  type: RunType;
  status: RunStatus;
  workflowId: string;
}

export interface DatasetRunView {
  task: string;
  dataset: string;
  position: number;
  status: RunStatus;
  startedAt: string | null;
  endedAt: string | null;
  total: number;
  done: number;
  failed: number;
  metrics: DatasetMetrics | null;
  error: string | null;
  /** The earlier run whose finished result of this dataset was copied instead of inferring again; null when inferred. */
  reusedFrom: { runId: string; version: number } | null;
}

/** A 95% confidence interval of a score, as datasets, tasks and runs carry it. */
export type ScoreInterval = NonNullable<DatasetMetrics['ci95']>;

export interface DatasetMetrics {
  /** The metric that scored the dataset: its own, or the one its scoring configuration set (`judge` included). */
  metric: ScoringMetric;
  /** Mean score over all samples; failed samples count as 0. */
  score: number;
  scored: number;
  failed: number;
  avgOutputLength: number;
  /**
   * 95% percentile-bootstrap interval of `score` over the same per-sample scores (failed = 0).
   * Null when the dataset stored no sample, and for datasets closed before intervals existed.
   */
  ci95: { lower: number; upper: number } | null;
  /**
   * Standard error of `score`: the spread of the sample scores over √n, which is exactly the
   * standard deviation of the bootstrap's resample means. Task and overall intervals combine it.
   * Null when ci95 is.
   */
  standardError: number | null;
  /** pass_at_k datasets: the mean over problems of pass@k, keyed by k (1 always; others when every problem has ≥ k completions). `score` is pass@1. */
  passAtK?: Record<string, number>;
  /** Formal runs with `robustness`: the clean pass (this record's score) against the perturbed pass. */
  robustness?: DatasetRobustness;
}

/** What the code sandbox said of one completion of a pass_at_k sample. */
export interface CodeVerdict {
  passed: boolean;
  /** docker/codeSandbox.ts: passed, tests_failed, program_error, timed_out, … */
  verdict: string;
  durationMs: number;
}

/** scoring/robustness/robustnessScore.ts over the samples both passes stored (failed count as 0). */
export interface DatasetRobustness {
  n: number;
  cleanAccuracy: number;
  perturbedAccuracy: number;
  /** perturbedAccuracy / cleanAccuracy capped at 1; null when the clean accuracy is 0. */
  robustness: number | null;
  flipRate: number;
  brokenRate: number;
  fixedRate: number;
  /** Perturbed samples that failed (no answer). */
  failed: number;
}

export interface RunView {
  runId: string;
  evaluationId: string;
  version: number;
  type: RunType;
  status: RunStatus;
  submitter: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
  progress: { done: number; total: number; percent: number; etaSeconds: number | null };
  datasets: DatasetRunView[];
  taskScores: {
    task: string;
    score: number;
    datasets: number;
    ci95: { lower: number; upper: number } | null;
    standardError: number | null;
  }[];
  overallScore: number | null;
  /** 95% confidence interval of the overall score; null while overallScore is, or when a task has none. */
  overallCi95: { lower: number; upper: number } | null;
  sampleSeed: number | null;
  /** The run's manual evaluation (subjective datasets held for reviewers); null when it has none. */
  review: RunReviewState | null;
  /** The run's leaderboard submission window (succeeded formal runs); null when none was opened. */
  leaderboard: RunLeaderboardState | null;
}

export interface RunReviewState {
  reviewId: string;
  status: ReviewStatus;
  datasets: string[];
  /** Until when the owner may launch the manual evaluation; null before the gate opens. */
  launchDeadline: string | null;
  launchedAt: string | null;
  endedAt: string | null;
  note: string | null;
}

export interface RunLeaderboardState {
  status: PublicationStatus;
  closesAt: string;
  /** How the run was submitted; null until it is. */
  mode: LeaderboardMode | null;
  submittedAt: string | null;
}

export interface SampleResultView {
  id: string;
  dataset: string;
  sample: string;
  label: string;
  predict: string | null;
  score: number | null;
  status: SampleStatus;
  error: string | null;
  outputLength: number;
  latencyMs: number;
  attempts: number;
}
