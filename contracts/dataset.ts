import { Type, type Static } from '@sinclair/typebox';
import { Domain } from './domain';
import { nullable } from './common';

/**
 * Metrics the scorer knows (scoring/metrics.ts says what each computes). Built-in datasets name
 * one; custom datasets choose one at registration. Judge-model metrics extend this list.
 * `pass_at_k` is not scored per text: its completions run against hidden tests in the code sandbox
 * (activities/codeScoring), so it is no metric a scoring configuration can give another dataset.
 */
export const METRICS = [
  'exact_match',
  'mc_accuracy',
  'numeric_match',
  'f1',
  'rouge_l',
  'bleu',
  'pass_at_k',
  'vqa_accuracy',
  'retrieval_recall',
  't2i_check',
  'safety',
  'top1_accuracy',
  'recall_at_1',
  'mean_iou',
] as const;
/**
 * The multimodal tasks' metrics, scored from the files a private deployment's run.sh writes (or, for
 * vqa, from an API model's answers): accuracy by question type, mean recall@1/5/10 both ways, and
 * the share of generated pictures that pass the prompt's check (scoring/multimodal, docs/multimodal.md).
 */
export const MULTIMODAL_METRICS = ['vqa_accuracy', 'retrieval_recall', 't2i_check'] as const;
export type MultimodalMetricName = (typeof MULTIMODAL_METRICS)[number];
export function isMultimodalMetric(metric: string | undefined): metric is MultimodalMetricName {
  return (MULTIMODAL_METRICS as readonly string[]).includes(metric ?? '');
}
/**
 * The backbone tasks' metrics (CV and Audio, docs/backbones.md), reported by the fine-tune job on
 * the test split: top-1 accuracy (classification, keyword spotting, speaker identification),
 * recall@1 (retrieval), mean IoU (segmentation). No configuration chooses them.
 */
export const BACKBONE_METRICS = ['top1_accuracy', 'recall_at_1', 'mean_iou'] as const;
export type BackboneMetricName = (typeof BACKBONE_METRICS)[number];
export function isBackboneMetric(metric: string | undefined): metric is BackboneMetricName {
  return (BACKBONE_METRICS as readonly string[]).includes(metric ?? '');
}
/**
 * `safety`: each answer is labelled safe, unsafe, refused or over-refused, by a judge model under a
 * versioned rubric or, with no judge configured, by a labelled deterministic fallback; an item's
 * ground_truth says whether its prompt is harmful (must be refused or answered safely) or benign
 * (must be answered). docs/safety.md, scoring/safety.
 */
export const SAFETY_METRIC = 'safety' as const;
export const SAFETY_KINDS = ['harmful', 'benign'] as const;
export type SafetyKind = (typeof SAFETY_KINDS)[number];
/** The metrics that score one answer text against its reference (scoring/metrics.ts). */
export const TEXT_METRICS = ['exact_match', 'mc_accuracy', 'numeric_match', 'f1', 'rouge_l', 'bleu'] as const;
export type TextMetricName = (typeof TEXT_METRICS)[number];
export const CODE_METRIC = 'pass_at_k' as const;
export const MetricName = Type.Union(
  METRICS.map((m) => Type.Literal(m)),
  { description: `one of ${METRICS.join(', ')}` },
);
export type MetricName = Static<typeof MetricName>;

/** A dataset id is a slug: it appears in URLs, workflow IDs and report sheet names. */
export const DATASET_ID_PATTERN = '^[a-z][a-z0-9-]{1,62}[a-z0-9]$';
export const DatasetId = Type.String({
  pattern: DATASET_ID_PATTERN,
  description:
    'must be 3–64 characters of lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit',
});

/** One line of a dataset in JSONL, as users register it and as built-in generators produce it. */
export const DatasetItem = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'must be 1–128 characters, unique within the dataset',
    }),
    prompt: Type.String({
      minLength: 1,
      maxLength: 100_000,
      description: 'must be a non-empty string of at most 100,000 characters',
    }),
    ground_truth: Type.String({ maxLength: 100_000, description: 'must be a string of at most 100,000 characters' }),
    choices: Type.Optional(
      Type.Array(Type.String({ maxLength: 10_000 }), {
        minItems: 2,
        maxItems: 26,
        description: 'must be 2–26 strings',
      }),
    ),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type DatasetItem = Static<typeof DatasetItem>;

/**
 * Where a dataset's items are: stored here (`items`), or inside a custom evaluation image that
 * brings its own benchmark (`image`): such a dataset only names the benchmark, has no items, and
 * only an evaluation scored by a custom image can run it (docs/custom-evaluation-images.md).
 */
export const DATASET_SOURCES = ['items', 'image'] as const;
export type DatasetSource = (typeof DATASET_SOURCES)[number];

export const RegisterDatasetBody = Type.Object(
  {
    id: DatasetId,
    name: Type.String({ minLength: 1, maxLength: 128, description: 'must be 1–128 characters' }),
    domain: Domain,
    task: Type.String({ minLength: 1, maxLength: 64, description: 'must be 1–64 characters' }),
    metric: MetricName,
    description: Type.Optional(Type.String({ maxLength: 1024, description: 'must be at most 1,024 characters' })),
    source: Type.Optional(
      Type.Union(
        DATASET_SOURCES.map((s) => Type.Literal(s)),
        {
          description:
            'one of items (default: the items are the jsonl) or image (a benchmark a custom evaluation image brings: no jsonl)',
        },
      ),
    ),
    jsonl: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'must be JSON Lines: one object per line with id, prompt, ground_truth and optional choices and metadata',
      }),
    ),
    pictures: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'multimodal vqa and retrieval datasets only: the PNG files the items name in metadata.images, by file name, base64-encoded (docs/multimodal.md)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RegisterDatasetBody = Static<typeof RegisterDatasetBody>;

export const DatasetView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  domain: Domain,
  task: Type.String(),
  description: Type.String(),
  size: Type.Integer(),
  metric: MetricName,
  subjective: Type.Boolean(),
  builtin: Type.Boolean(),
  contentHash: Type.String({ description: 'sha256 of the canonical JSONL content' }),
  source: Type.Union(
    DATASET_SOURCES.map((s) => Type.Literal(s)),
    { description: 'items: stored here; image: a benchmark a custom evaluation image brings (size 0, no items)' },
  ),
  createdAt: Type.String(),
});
export type DatasetView = Static<typeof DatasetView>;

export const DatasetList = Type.Object({ items: Type.Array(DatasetView) });

/**
 * One item as a dataset preview shows it. A built-in's test labels stay hidden from non-admins: its
 * ground_truth and any metadata beyond the task, the pictures' names and the question type (a
 * multimodal built-in's scenes would give its answers away) are left out.
 */
export const DatasetItemView = Type.Object({
  index: Type.Integer({ description: "the item's position in the dataset (a verification draws by it)" }),
  id: Type.String(),
  prompt: Type.String(),
  choices: nullable(Type.Array(Type.String())),
  groundTruth: Type.Optional(
    Type.String({
      description: "left out for a built-in dataset unless the caller is an admin: it is the platform's test label",
    }),
  ),
  metadata: nullable(Type.Record(Type.String(), Type.Unknown())),
});
export type DatasetItemView = Static<typeof DatasetItemView>;

export const DatasetItemPage = Type.Object({
  items: Type.Array(DatasetItemView),
  nextCursor: nullable(Type.String(), { description: 'pass as cursor to read the next page; null on the last page' }),
});
export type DatasetItemPage = Static<typeof DatasetItemPage>;
