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
      'The digits zero to nine spoken by espeak-ng at 16 kHz, train, validation and test by different voices (accent and variant), each utterance with its own speed and pitch, in coloured noise at 0–20 dB SNR; ' +
      "a linear head on the frozen encoder's pooled frames (accuracy).",
    classes: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
    splits: { train: 400, val: 80, test: 160 },
    generator: 'audiodata',
  },
  {
    id: 'audio-speakers',
    name: 'Speaker identification',
    domain: 'audio',
    task: 'speaker_id',
    description:
      'Which of eight espeak-ng voices says a two-syllable word, 16 kHz, with different words in train, validation and test, each utterance with its own speed and pitch, in coloured noise at 5–25 dB SNR; ' +
      "a linear head on the frozen encoder's pooled frames (accuracy).",
    classes: [
      'en-us+m1',
      'en+f2',
      'en-gb-scotland+m3',
      'en-029+f4',
      'en-gb-x-rp+m7',
      'en-gb-x-gbclan+f1',
      'en-gb-x-gbcwmd+m4',
      'en-us-nyc+klatt',
    ],
    splits: { train: 240, val: 80, test: 160 },
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
