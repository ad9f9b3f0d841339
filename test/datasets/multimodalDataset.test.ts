/**
 * The checks of a custom multimodal dataset before anything is stored: each rule of the data model
 * and of the pictures refused with the field it concerns, and a good dataset's pictures decoded
 * with their digests, which its content hash covers.
 */
import { describe, expect, it } from 'vitest';
import type { DatasetItem } from '../../contracts/dataset';
import { datasetContentHash } from '../../datasets/contentHash';
import { checkMultimodalDataset, picturesDigest, type DatasetPicture } from '../../datasets/multimodalDataset';
import { renderScene } from '../../datasets/builtin/multimodal/render';

const png = (colour: 'red' | 'blue') =>
  renderScene({
    kind: 'shapes',
    width: 64,
    height: 64,
    shapes: [{ shape: 'circle', colour, cx: 32, cy: 32, r: 12 }],
  }).toString('base64');
const PICTURES = { 'a.png': png('red'), 'b.png': png('blue') };

const vqa = (over: Partial<DatasetItem> & { meta?: Record<string, unknown> } = {}): DatasetItem => {
  const { meta, ...rest } = over;
  return {
    id: 'q1',
    prompt: '<image 1>\nWhat colour is the circle?\nChoices:\n(A) red\n(B) blue\nAnswer with the option letter.',
    ground_truth: 'A',
    choices: ['red', 'blue'],
    metadata: { task: 'vqa', images: ['a.png'], questionType: 'multiple-choice', ...meta },
    ...rest,
  };
};
const second = vqa({ id: 'q2', ground_truth: 'B', meta: { images: ['b.png'] } });

function refusal(run: () => unknown): { field: string; message: string } {
  try {
    run();
  } catch (error) {
    const e = error as { field: string; message: string };
    return { field: e.field, message: e.message };
  }
  throw new Error('expected a refusal');
}

describe('checkMultimodalDataset', () => {
  it('decodes the pictures of a good vqa dataset, in name order, with their digests', () => {
    const pictures = checkMultimodalDataset('vqa_accuracy', [vqa(), second], PICTURES);
    expect(pictures.map((p) => p.name)).toEqual(['a.png', 'b.png']);
    expect(pictures[0]!.content.subarray(1, 4).toString()).toBe('PNG');
    expect(pictures[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses items that break the vqa data model, naming the item', () => {
    const cases: [DatasetItem[], RegExp][] = [
      [[vqa({ meta: { images: [] } }), second], /metadata\.images must be a non-empty list/],
      [[vqa({ meta: { images: ['c.png'] } }), second], /names "c\.png", which is not among the pictures/],
      [[vqa({ prompt: '<image 2> which?' }), second], /<image 2> has no picture/],
      [[vqa({ meta: { questionType: 'essay' } }), second], /questionType/],
      [[vqa({ ground_truth: 'C' }), second], /one option letter among the 2 choices/],
      [[vqa({ choices: undefined }), second], /needs choices/],
      [[vqa({ meta: { questionType: 'yes-no' }, ground_truth: 'maybe' }), second], /must be yes or no/],
      [[vqa({ meta: { task: 't2i' } }), second], /metadata\.task is "t2i"/],
    ];
    for (const [items, message] of cases) {
      const r = refusal(() => checkMultimodalDataset('vqa_accuracy', items, PICTURES));
      expect(r.field).toBe('jsonl');
      expect(r.message).toMatch(/^jsonl line of item 1 \(id "q1"\)/);
      expect(r.message).toMatch(message);
    }
  });

  it('refuses pictures that are missing, unnamed by any item, badly named, not PNG or not base64', () => {
    const items = [vqa(), second];
    expect(refusal(() => checkMultimodalDataset('vqa_accuracy', items, undefined))).toMatchObject({
      field: 'pictures',
    });
    expect(refusal(() => checkMultimodalDataset('vqa_accuracy', items, { ...PICTURES, 'c.png': png('red') }))).toEqual({
      field: 'pictures.c.png',
      message: "is named by no item's metadata.images; leave out pictures no item shows",
    });
    for (const name of ['../a.png', 'a.jpg', '.hidden.png', 'a b.png'])
      expect(
        refusal(() => checkMultimodalDataset('vqa_accuracy', items, { ...PICTURES, [name]: png('red') })).field,
      ).toBe(`pictures.${name}`);
    expect(
      refusal(() => checkMultimodalDataset('vqa_accuracy', items, { ...PICTURES, 'a.png': 'R0lGODlh' })).message,
    ).toMatch(/not a PNG/);
    expect(
      refusal(() => checkMultimodalDataset('vqa_accuracy', items, { ...PICTURES, 'a.png': 'not base64!' })).message,
    ).toMatch(/base64/);
  });

  it('checks retrieval captions name exactly one picture, and t2i prompts a shape the check can see', () => {
    const caption = (id: string, images: string[]): DatasetItem => ({
      id,
      prompt: 'A picture of one red circle.',
      ground_truth: images[0] ?? '',
      metadata: { task: 'retrieval', images },
    });
    expect(
      checkMultimodalDataset('retrieval_recall', [caption('c1', ['a.png']), caption('c2', ['b.png'])], PICTURES),
    ).toHaveLength(2);
    expect(
      refusal(() => checkMultimodalDataset('retrieval_recall', [caption('c1', ['a.png', 'b.png'])], PICTURES)).message,
    ).toMatch(/exactly one picture/);

    const prompt = (expect: unknown): DatasetItem => ({
      id: 'p0',
      prompt: 'Draw one red circle on a white background.',
      ground_truth: JSON.stringify(expect),
      metadata: { task: 't2i', expect },
    });
    expect(checkMultimodalDataset('t2i_check', [prompt({ colour: 'red', shape: 'circle' })], undefined)).toEqual([]);
    expect(
      refusal(() => checkMultimodalDataset('t2i_check', [prompt({ colour: 'pink', shape: 'circle' })], undefined))
        .message,
    ).toMatch(/metadata\.expect must be/);
    expect(
      refusal(() => checkMultimodalDataset('t2i_check', [prompt({ colour: 'red', shape: 'circle' })], PICTURES)).field,
    ).toBe('pictures');
  });

  it('makes the pictures part of the content hash', () => {
    const items = [vqa(), second];
    const pictures: DatasetPicture[] = checkMultimodalDataset('vqa_accuracy', items, PICTURES);
    const swapped = checkMultimodalDataset('vqa_accuracy', items, {
      'a.png': PICTURES['b.png'],
      'b.png': PICTURES['a.png'],
    });
    const hash = datasetContentHash(items, picturesDigest(pictures));
    expect(hash).not.toBe(datasetContentHash(items));
    expect(hash).not.toBe(datasetContentHash(items, picturesDigest(swapped)));
    expect(datasetContentHash(items, picturesDigest([...pictures].reverse()))).toBe(hash);
  });
});
