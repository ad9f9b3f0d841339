/**
 * Backbone evaluation (CV and Audio, docs/backbones.md): the platform freezes an uploaded backbone,
 * fine-tunes its own preset head per task and dataset, and reports the head's metrics on the test
 * split. This file holds the form's tasks and adaptation methods and what a dataset's result is
 * made of; the job that does the work is platform-owned Python (docker/images/backbone).
 */
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from './literalUnion';
import type { BackboneMetricName } from './dataset';

export { BACKBONE_METRICS, type BackboneMetricName } from './dataset';

export const CV_TASKS = ['classification', 'retrieval', 'segmentation'] as const;
export const AUDIO_TASKS = ['keyword_spotting', 'speaker_id'] as const;
export const BACKBONE_TASKS = [...CV_TASKS, ...AUDIO_TASKS] as const;
export type BackboneTask = (typeof BACKBONE_TASKS)[number];
export type BackboneDomain = 'cv' | 'audio';

export const ADAPTATIONS = ['linear', 'knn', 'upernet', 'setr'] as const;
export type Adaptation = (typeof ADAPTATIONS)[number];

/**
 * Which adaptation methods each task offers, the first being the default. The seed: a linear
 * classifier on globally pooled features for classification and retrieval (retrieval may also
 * compare the frozen features directly, k-NN); UPerNet for pyramid backbones (Swin, ViT-Adapter)
 * and SETR for plain ViTs in segmentation; Audio fine-tunes a linear head on pooled frames.
 */
export const ADAPTATIONS_BY_TASK: Readonly<Record<BackboneTask, readonly Adaptation[]>> = Object.freeze({
  classification: ['linear'],
  retrieval: ['linear', 'knn'],
  segmentation: ['upernet', 'setr'],
  keyword_spotting: ['linear'],
  speaker_id: ['linear'],
});

export const TASKS_BY_DOMAIN: Readonly<Record<BackboneDomain, readonly BackboneTask[]>> = Object.freeze({
  cv: CV_TASKS,
  audio: AUDIO_TASKS,
});

export const BackboneTaskChoice = Type.Object(
  {
    task: literalUnion(BACKBONE_TASKS, { description: `one of ${BACKBONE_TASKS.join(', ')}` }),
    adaptation: Type.Optional(
      literalUnion(ADAPTATIONS, {
        description: `one of ${ADAPTATIONS.join(', ')}; which of them a task offers: docs/backbones.md (absent: the task's default)`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type BackboneTaskChoice = Static<typeof BackboneTaskChoice>;

/** The CV and Audio form's "Evaluation task" (multiple choice) with each task's adaptation method. */
export const BackboneTasksInput = Type.Array(BackboneTaskChoice, {
  minItems: 1,
  maxItems: BACKBONE_TASKS.length,
  description: 'must list 1–5 evaluation tasks, each once, with the adaptation method to fine-tune (CV and Audio only)',
});

/** As stored and shown: every task with its adaptation method resolved. */
export const BackboneTasks = Type.Array(
  Type.Object({
    task: literalUnion(BACKBONE_TASKS),
    adaptation: literalUnion(ADAPTATIONS),
  }),
);
export type BackboneTasks = Static<typeof BackboneTasks>;

/** The headline metric of each task's datasets (the dataset's score). */
export const METRIC_BY_TASK: Readonly<Record<BackboneTask, BackboneMetricName>> = Object.freeze({
  classification: 'top1_accuracy',
  retrieval: 'recall_at_1',
  segmentation: 'mean_iou',
  keyword_spotting: 'top1_accuracy',
  speaker_id: 'top1_accuracy',
});

/** What a backbone dataset's score is made of: the fine-tune job's report. */
export const BackboneMetrics = Type.Object({
  task: literalUnion(BACKBONE_TASKS),
  adaptation: literalUnion(ADAPTATIONS),
  head: Type.String({ description: 'the preset neck and head that were trained, e.g. gap+linear, upernet-light' }),
  epochs: Type.Integer({ description: 'epochs the head was trained for' }),
  metrics: Type.Array(Type.Object({ name: Type.String(), value: Type.Number() }), {
    description:
      'test-split metrics: top1/top5 (classification, audio tasks: accuracy), recall@1/recall@5 (retrieval), mIoU/pixelAccuracy (segmentation), as fractions',
  }),
  curve: Type.Array(
    Type.Object({
      epoch: Type.Integer(),
      trainLoss: Type.Number(),
      valMetric: Type.Number(),
    }),
    { description: 'per epoch: mean training loss and the validation metric (valMetricName)' },
  ),
  valMetricName: Type.String(),
  samples: Type.Object({ train: Type.Integer(), val: Type.Integer(), test: Type.Integer() }),
  device: Type.String({ description: 'cpu or cuda' }),
  durationMs: Type.Integer({ description: "the job's run time" }),
  epochSeconds: Type.Number({ description: 'mean seconds per epoch of head training' }),
});
export type BackboneMetrics = Static<typeof BackboneMetrics>;

/** The task's adaptation methods and default, for messages and the console. */
export function adaptationRule(task: BackboneTask): string {
  const offered = ADAPTATIONS_BY_TASK[task];
  return offered.length === 1 ? `must be ${offered[0]!}` : `must be one of ${offered.join(', ')}`;
}
