/**
 * The pictures of the multimodal built-ins, drawn on demand from their generators' scenes: the
 * file names a dataset's items refer to, one picture rendered by name, and `writeBuiltinImages`,
 * which a host running a multimodal job calls to materialise a dataset's pictures once into a
 * cache directory. Rendering is deterministic (render.ts pins every byte), so a file already there
 * with the right size is the right file and is kept; a new one is written under a temporary name
 * and renamed into place, so a reader never sees half a picture and two hosts or retries writing
 * the same directory at once cannot corrupt it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuiltinDrawing } from './imageFiles';
import { MM_SHAPES_RETRIEVAL_ID, buildMmShapesRetrieval } from './mmShapesRetrieval';
import { MM_SHAPES_T2I_ID, generateMmShapesT2i } from './mmShapesT2i';
import { MM_SHAPES_VQA_ID, buildMmShapesVqa } from './mmShapesVqa';
import { renderScene, type Scene } from './render';

const DRAWINGS: Readonly<Record<string, () => BuiltinDrawing>> = {
  [MM_SHAPES_VQA_ID]: buildMmShapesVqa,
  [MM_SHAPES_RETRIEVAL_ID]: buildMmShapesRetrieval,
  // Text to image: the model draws, the dataset has no pictures.
  [MM_SHAPES_T2I_ID]: () => ({ items: generateMmShapesT2i(), scenes: new Map() }),
};

/** The multimodal built-ins whose pictures this module draws (some have none). */
export const BUILTIN_IMAGE_DATASET_IDS: readonly string[] = Object.keys(DRAWINGS);

const drawn = new Map<string, ReadonlyMap<string, Scene>>();

function scenesOf(datasetId: string): ReadonlyMap<string, Scene> {
  let scenes = drawn.get(datasetId);
  if (scenes === undefined) {
    const draw = DRAWINGS[datasetId];
    if (draw === undefined) throw new RangeError(`${datasetId} is not a multimodal built-in dataset`);
    scenes = draw().scenes;
    drawn.set(datasetId, scenes);
  }
  return scenes;
}

/** The dataset's picture file names, `img-0000.png` on, in the order its items first refer to them. */
export function builtinImageNames(datasetId: string): string[] {
  return [...scenesOf(datasetId).keys()];
}

/** One of the dataset's pictures as PNG bytes, the same bytes on every call and machine. */
export function renderBuiltinImage(datasetId: string, name: string): Buffer {
  const scene = scenesOf(datasetId).get(name);
  if (scene === undefined) throw new RangeError(`${datasetId} has no picture ${name}`);
  return renderScene(scene);
}

/**
 * Writes every picture of the dataset into `dir` (created if missing) and returns how many files it
 * wrote: 0 when all were already there with the right size.
 */
export async function writeBuiltinImages(datasetId: string, dir: string): Promise<number> {
  const names = builtinImageNames(datasetId);
  await mkdir(dir, { recursive: true });
  let written = 0;
  for (const name of names) {
    const png = renderBuiltinImage(datasetId, name);
    const target = path.join(dir, name);
    if ((await sizeOf(target)) === png.length) continue;
    const temporary = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(temporary, png);
      await rename(temporary, target);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
    written++;
  }
  return written;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? s.size : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
