/**
 * The CV and Audio built-ins (docs/backbones.md). Their pictures and recordings are made by the
 * platform's Python on a container host (docker/images/backbone/proctor_backbone: cvdata.py,
 * audiodata.py), deterministically, the first time a job needs them; the registry lists each test
 * item with its label, which it knows without running Python because the generators follow one
 * rule: item i of a split has label classes[i mod classes.length]. The job checks the files keep
 * that rule before it trains anything.
 */
import type { DatasetItem } from '../../../contracts/dataset';
import { METRIC_BY_TASK, type BackboneDomain, type BackboneTask } from '../../../contracts/backbone';

export interface BackboneDatasetSpec {
  id: string;
  name: string;
  domain: BackboneDomain;
  task: BackboneTask;
  description: string;
  /** Label names in label order; segmentation: the mask's classes (0 = background). */
  classes: readonly string[];
  splits: { train: number; val: number; test: number };
  /** What the job generator is asked for (its dataset name). */
  generator: 'cvdata' | 'audiodata';
}

export const BACKBONE_DATASETS: readonly BackboneDatasetSpec[] = Object.freeze([
  {
    id: 'cv-shapes',
    name: 'Shapes, classification',
    domain: 'cv',
    task: 'classification',
    description:
      'Rendered pictures of eight kinds of shape with colours, textures, positions, sizes and rotations drawn independently, so only the outline gives the class. ' +
      'A linear head on the pooled last-level features is trained on the train split and scored on the test split (top-1, top-5).',
    classes: ['circle', 'square', 'triangle', 'star', 'cross', 'ring', 'crescent', 'arrow'],
    splits: { train: 800, val: 160, test: 320 },
    generator: 'cvdata',
  },
  {
    id: 'cv-shapes-retrieval',
    name: 'Shapes, retrieval',
    domain: 'cv',
    task: 'retrieval',
    description:
      'Ten other rendered shapes as queries against a gallery (the train split): a query is answered when a gallery picture of the same shape is among its nearest k (recall@1, recall@5).',
    classes: ['ellipse', 'hollow_square', 'semicircle', 'L', 'T', 'bar', 'star', 'ring', 'triangle', 'cross'],
    splits: { train: 600, val: 100, test: 200 },
    generator: 'cvdata',
  },
  {
    id: 'cv-shapes-seg',
    name: 'Shapes, semantic segmentation',
    domain: 'cv',
    task: 'segmentation',
    description:
      'Scenes of several rendered shapes on textured backgrounds with a per-pixel class mask; the head is trained on four levels (UPerNet) or the last (SETR) and scored by mean IoU over the classes.',
    classes: ['background', 'circle', 'square', 'triangle', 'cross'],
    splits: { train: 64, val: 16, test: 32 },
    generator: 'cvdata',
  },
  {
    id: 'audio-keywords',
    name: 'Spoken keywords',
    domain: 'audio',
    task: 'keyword_spotting',
    description:
      "Ten spoken digits, said by several espeak-ng voices at varied speed and pitch, 16 kHz; a linear head on the frozen encoder's pooled frames (accuracy).",
    classes: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
    splits: { train: 300, val: 60, test: 100 },
    generator: 'audiodata',
  },
  {
    id: 'audio-speakers',
    name: 'Speaker identification',
    domain: 'audio',
    task: 'speaker_id',
    description:
      "Which of six espeak-ng voices says a word, with different words in each split, 16 kHz; a linear head on the frozen encoder's pooled frames (accuracy).",
    classes: ['voice-1', 'voice-2', 'voice-3', 'voice-4', 'voice-5', 'voice-6'],
    splits: { train: 240, val: 60, test: 120 },
    generator: 'audiodata',
  },
]);

export function findBackboneDataset(id: string): BackboneDatasetSpec | undefined {
  return BACKBONE_DATASETS.find((d) => d.id === id);
}

/** The test split as registry items: the job's predictions.jsonl answers them by index. */
export function backboneTestItems(spec: BackboneDatasetSpec): DatasetItem[] {
  const what = spec.domain === 'cv' ? 'picture' : 'recording';
  return Array.from({ length: spec.splits.test }, (_, i) => ({
    id: `test-${String(i).padStart(6, '0')}`,
    prompt: `${spec.id} test ${what} #${i}`,
    ground_truth: spec.task === 'segmentation' ? 'mask' : spec.classes[i % spec.classes.length]!,
    metadata: { split: 'test', index: i },
  }));
}

export const backboneMetricOf = (spec: BackboneDatasetSpec) => METRIC_BY_TASK[spec.task];
