import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BUILTIN_IMAGE_DATASET_IDS,
  builtinImageNames,
  renderBuiltinImage,
  writeBuiltinImages,
} from '../../../datasets/builtin/multimodal/builtinImages';
import { pngSize } from '../../../datasets/builtin/multimodal/colourBlobs';
import {
  MM_SHAPES_RETRIEVAL_ID,
  generateMmShapesRetrieval,
} from '../../../datasets/builtin/multimodal/mmShapesRetrieval';
import { MM_SHAPES_T2I_ID } from '../../../datasets/builtin/multimodal/mmShapesT2i';
import {
  MM_SHAPES_VQA_ID,
  generateMmShapesVqa,
  type VqaMetadata,
} from '../../../datasets/builtin/multimodal/mmShapesVqa';
import { renderScene } from '../../../datasets/builtin/multimodal/render';

/** The distinct files the items refer to, in order of first appearance (the data model's image order). */
function imagesOfItems(items: { metadata?: Record<string, unknown> }[]): string[] {
  return [...new Set(items.flatMap((item) => (item.metadata as { images?: string[] }).images ?? []))];
}

describe('builtinImageNames and renderBuiltinImage', () => {
  it('list exactly the files each dataset refers to, in order of first appearance', () => {
    expect([...BUILTIN_IMAGE_DATASET_IDS].sort()).toEqual([MM_SHAPES_RETRIEVAL_ID, MM_SHAPES_T2I_ID, MM_SHAPES_VQA_ID]);
    expect(builtinImageNames(MM_SHAPES_VQA_ID)).toEqual(imagesOfItems(generateMmShapesVqa()));
    expect(builtinImageNames(MM_SHAPES_RETRIEVAL_ID)).toEqual(imagesOfItems(generateMmShapesRetrieval()));
    expect(builtinImageNames(MM_SHAPES_RETRIEVAL_ID)).toHaveLength(60);
    expect(builtinImageNames(MM_SHAPES_T2I_ID)).toEqual([]);
  });

  it('render each picture as the 224×224 PNG of the scene its item stores, the same bytes every time', () => {
    for (const item of generateMmShapesVqa().slice(0, 30)) {
      const { images, scenes } = item.metadata as VqaMetadata;
      images.forEach((name, k) => {
        const png = renderBuiltinImage(MM_SHAPES_VQA_ID, name);
        expect(png.equals(renderScene(scenes[k]!))).toBe(true);
        expect(pngSize(png)).toEqual({ width: 224, height: 224 });
      });
    }
    const first = renderBuiltinImage(MM_SHAPES_RETRIEVAL_ID, 'img-0000.png');
    expect(renderBuiltinImage(MM_SHAPES_RETRIEVAL_ID, 'img-0000.png').equals(first)).toBe(true);
  });

  it('refuse a dataset that is not a multimodal built-in and a picture it does not have', () => {
    expect(() => builtinImageNames('arith-basic')).toThrow(/arith-basic is not a multimodal built-in dataset/);
    expect(() => renderBuiltinImage(MM_SHAPES_RETRIEVAL_ID, 'img-0060.png')).toThrow(/has no picture img-0060.png/);
  });
});

describe('writeBuiltinImages', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'builtin-images-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every picture once, into a directory it creates, and nothing else', async () => {
    const target = path.join(dir, 'cache', MM_SHAPES_RETRIEVAL_ID);
    expect(await writeBuiltinImages(MM_SHAPES_RETRIEVAL_ID, target)).toBe(60);
    const names = builtinImageNames(MM_SHAPES_RETRIEVAL_ID);
    expect((await readdir(target)).sort()).toEqual(names);
    for (const name of names)
      expect((await readFile(path.join(target, name))).equals(renderBuiltinImage(MM_SHAPES_RETRIEVAL_ID, name))).toBe(
        true,
      );
    expect(await writeBuiltinImages(MM_SHAPES_RETRIEVAL_ID, target)).toBe(0);
  });

  it('rewrites a file of the wrong size and keeps the rest', async () => {
    expect(await writeBuiltinImages(MM_SHAPES_RETRIEVAL_ID, dir)).toBe(60);
    const damaged = path.join(dir, 'img-0007.png');
    const good = await readFile(damaged);
    await writeFile(damaged, good.subarray(0, 100));
    expect(await writeBuiltinImages(MM_SHAPES_RETRIEVAL_ID, dir)).toBe(1);
    expect((await readFile(damaged)).equals(good)).toBe(true);
    expect(await readdir(dir)).toHaveLength(60);
  });

  it('lets two writers fill one directory at once, leaving whole files and no temporary ones', async () => {
    const counts = await Promise.all([
      writeBuiltinImages(MM_SHAPES_VQA_ID, dir),
      writeBuiltinImages(MM_SHAPES_VQA_ID, dir),
    ]);
    const names = builtinImageNames(MM_SHAPES_VQA_ID);
    expect(counts[0]! + counts[1]!).toBeGreaterThanOrEqual(names.length);
    expect((await readdir(dir)).sort()).toEqual(names);
    for (const name of names.slice(0, 20))
      expect((await readFile(path.join(dir, name))).equals(renderBuiltinImage(MM_SHAPES_VQA_ID, name))).toBe(true);
  });

  it('writes nothing for the text-to-image dataset and refuses an unknown one', async () => {
    expect(await writeBuiltinImages(MM_SHAPES_T2I_ID, dir)).toBe(0);
    await expect(writeBuiltinImages('no-such-set', dir)).rejects.toThrow(/not a multimodal built-in/);
    expect(await readdir(dir)).toEqual([]);
  });
});
