/**
 * A custom multimodal dataset as its owner registers it (docs/multimodal.md): JSON Lines items in
 * the multimodal data model plus the pictures they name, each a PNG sent base64-encoded under its
 * file name. Everything is checked before anything is stored, and a refusal names the field (the
 * item's line, or the picture) and the rule:
 *
 *   - pictures: at most MAX_PICTURES, each a file name of letters, digits, '.', '_' and '-' ending
 *     in .png, base64 that decodes to a PNG (its signature and IHDR) of at most MAX_PICTURE_BYTES,
 *     and every one named by some item (a picture no item shows is a mistake, not data);
 *   - vqa_accuracy: metadata.images a non-empty list of known pictures, every `<image N>` of the
 *     prompt within it, metadata.questionType one of the five types, and a ground truth of that
 *     type's shape (a letter among the choices, letters, yes or no);
 *   - retrieval_recall: metadata.images exactly one known picture;
 *   - t2i_check: metadata.expect a colour and a shape the picture check knows.
 */
import { createHash } from 'node:crypto';
import type { DatasetItem, MultimodalMetricName } from '../contracts/dataset';
import { vqaQuestionOf } from '../scoring/multimodal/vqaScoring';
import { COLOURS, SHAPES } from './builtin/multimodal/palette';
import { PNG_SIGNATURE, pngSize } from './builtin/multimodal/colourBlobs';

export const MAX_PICTURES = 10_000;
export const MAX_PICTURE_BYTES = 8 * 2 ** 20;
export const PICTURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,123}\.png$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface DatasetPicture {
  name: string;
  content: Buffer;
  sha256: string;
}

export class MultimodalDatasetError extends Error {
  override name = 'MultimodalDatasetError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The checked pictures, in name order; throws MultimodalDatasetError naming what is wrong. */
export function checkMultimodalDataset(
  metric: MultimodalMetricName,
  items: readonly DatasetItem[],
  encoded: Readonly<Record<string, string>> | undefined,
): DatasetPicture[] {
  const pictures = decodePictures(metric, encoded ?? {});
  const known = new Set(pictures.map((p) => p.name));
  const used = new Set<string>();
  items.forEach((item, index) => {
    const at = (what: string) => `jsonl line of item ${index + 1} (id ${JSON.stringify(item.id)}): ${what}`;
    const refuse = (what: string): never => {
      throw new MultimodalDatasetError('jsonl', at(what));
    };
    const task = item.metadata?.task;
    const wanted = metric === 'vqa_accuracy' ? 'vqa' : metric === 'retrieval_recall' ? 'retrieval' : 't2i';
    if (task !== undefined && task !== wanted)
      refuse(`metadata.task is ${JSON.stringify(task)}; a ${metric} dataset's items are ${wanted}`);
    if (metric === 't2i_check') {
      const expect = item.metadata?.expect as { colour?: unknown; shape?: unknown } | undefined;
      if (
        typeof expect !== 'object' ||
        expect === null ||
        !(COLOURS as readonly unknown[]).includes(expect.colour) ||
        !(SHAPES as readonly unknown[]).includes(expect.shape)
      )
        refuse(
          `metadata.expect must be {"colour", "shape"} with a colour of ${COLOURS.join(', ')} and a shape of ${SHAPES.join(', ')}: what the picture check can see`,
        );
      return;
    }
    const images = item.metadata?.images;
    if (!Array.isArray(images) || images.length === 0 || !images.every((n) => typeof n === 'string'))
      refuse('metadata.images must be a non-empty list of picture file names');
    const names = images as string[];
    if (metric === 'retrieval_recall' && names.length !== 1)
      refuse(`metadata.images must name exactly one picture, the one the caption describes; it names ${names.length}`);
    for (const name of names) {
      if (!known.has(name)) refuse(`metadata.images names ${JSON.stringify(name)}, which is not among the pictures`);
      used.add(name);
    }
    if (metric !== 'vqa_accuracy') return;
    for (const m of item.prompt.matchAll(/<image\s*(\d+)>/g)) {
      const n = Number(m[1]);
      if (n < 1 || n > names.length) refuse(`the prompt's ${m[0]} has no picture: metadata.images has ${names.length}`);
    }
    const question = vqaQuestionOf(item);
    if ('problem' in question) refuse(question.problem);
    else checkGroundTruth(question.questionType, item, refuse);
  });
  const unused = pictures.filter((p) => !used.has(p.name)).map((p) => p.name);
  if (unused.length > 0)
    throw new MultimodalDatasetError(
      `pictures.${unused[0]}`,
      `${unused.length === 1 ? 'is' : `and ${unused.length - 1} more are`} named by no item's metadata.images; leave out pictures no item shows`,
    );
  return pictures;
}

function checkGroundTruth(type: string, item: DatasetItem, refuse: (what: string) => never): void {
  const truth = item.ground_truth.trim();
  const choices = item.choices?.length ?? 0;
  const letter = (l: string) => l.length === 1 && LETTERS.indexOf(l) >= 0 && LETTERS.indexOf(l) < choices;
  if (type === 'multiple-choice' || type === 'multiple-response') {
    if (choices < 2) refuse(`a ${type} question needs choices (2–26)`);
    const letters = type === 'multiple-choice' ? [truth] : truth.split(',').map((l) => l.trim());
    if (!letters.every(letter))
      refuse(
        `ground_truth ${JSON.stringify(item.ground_truth)} must be ${type === 'multiple-choice' ? 'one option letter' : 'option letters joined by commas'} among the ${choices} choices`,
      );
  } else if (type === 'yes-no' && truth !== 'yes' && truth !== 'no') {
    refuse(`ground_truth of a yes-no question must be yes or no, not ${JSON.stringify(item.ground_truth)}`);
  } else if (truth === '') {
    refuse(`ground_truth of a ${type} question must not be empty`);
  }
}

function decodePictures(metric: MultimodalMetricName, encoded: Readonly<Record<string, string>>): DatasetPicture[] {
  const names = Object.keys(encoded).sort();
  if (metric === 't2i_check') {
    if (names.length > 0)
      throw new MultimodalDatasetError('pictures', 'must be left out for t2i_check: the model draws the pictures');
    return [];
  }
  if (names.length === 0)
    throw new MultimodalDatasetError(
      'pictures',
      `are required for ${metric}: the PNG files the items name, base64-encoded`,
    );
  if (names.length > MAX_PICTURES)
    throw new MultimodalDatasetError('pictures', `are ${names.length}; at most ${MAX_PICTURES} may be registered`);
  return names.map((name) => {
    const field = `pictures.${name}`;
    if (!PICTURE_NAME.test(name))
      throw new MultimodalDatasetError(
        field,
        'must be named with letters, digits, ".", "_" and "-", starting with a letter or digit and ending in .png (at most 128 characters)',
      );
    const text = encoded[name]!.replace(/\s+/g, '');
    if (!BASE64.test(text) || text.length % 4 !== 0)
      throw new MultimodalDatasetError(field, 'must be the PNG file base64-encoded');
    const content = Buffer.from(text, 'base64');
    if (content.length > MAX_PICTURE_BYTES)
      throw new MultimodalDatasetError(
        field,
        `is ${content.length.toLocaleString('en-US')} bytes; a picture may have at most ${MAX_PICTURE_BYTES.toLocaleString('en-US')}`,
      );
    if (!content.subarray(0, 8).equals(PNG_SIGNATURE))
      throw new MultimodalDatasetError(field, 'is not a PNG file (its first bytes are not the PNG signature)');
    try {
      const { width, height } = pngSize(content);
      if (width === 0 || height === 0 || width > 8192 || height > 8192) throw new Error(`${width}×${height} pixels`);
    } catch (error) {
      throw new MultimodalDatasetError(
        field,
        `is not a usable PNG (${(error as Error).message}); pictures are 1–8192 pixels a side`,
      );
    }
    return { name, content, sha256: createHash('sha256').update(content).digest('hex') };
  });
}

/** The pictures' part of a content hash: each name with its digest, in name order. */
export function picturesDigest(pictures: readonly { name: string; sha256: string }[]): string {
  return [...pictures]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => `${p.name} ${p.sha256}`)
    .join('\n');
}
