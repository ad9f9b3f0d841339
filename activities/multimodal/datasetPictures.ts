/**
 * A multimodal dataset's pictures wherever a worker needs them (docs/multimodal.md): the built-ins'
 * are drawn from the scenes their items keep, a custom dataset's are read from PostgreSQL, where
 * its registration stored them. An inference worker asks for them one at a time (kept in a small
 * cache: a run asks the same few again on retries); a container host writes a dataset's pictures
 * once into a directory its jobs mount.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../db/client';
import { datasetPictureSizes, getDatasetPicture, loadDatasetPicture } from '../../db/queries/datasets';
import {
  BUILTIN_IMAGE_DATASET_IDS,
  builtinImageNames,
  writeBuiltinImages,
} from '../../datasets/builtin/multimodal/builtinImages';

const CACHE_ENTRIES = 512;
const cache = new Map<string, Buffer>();

export class MissingPictureError extends Error {
  override name = 'MissingPictureError';
}

/** One picture of the dataset (the content hash keys the cache: a dataset id may be registered again). */
export async function datasetPicture(
  db: Db,
  dataset: { datasetId: string; contentHash: string },
  name: string,
): Promise<Buffer> {
  const key = `${dataset.datasetId}/${dataset.contentHash}/${name}`;
  let png = cache.get(key);
  if (png) {
    // Most recently used last, so the oldest goes first.
    cache.delete(key);
  } else {
    const loaded = await loadDatasetPicture(db, dataset.datasetId, name);
    if (!loaded) throw new MissingPictureError(`dataset ${dataset.datasetId} has no picture ${JSON.stringify(name)}`);
    png = loaded;
  }
  cache.set(key, png);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return png;
}

/**
 * Writes the dataset's pictures into `dir` (made if missing), each once: a file already there with
 * the right size is kept (and not read from the database), and each is written under a temporary
 * name and renamed, so a job never sees half a picture. Returns how many the dataset has.
 */
export async function writeDatasetPictures(db: Db, datasetId: string, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (BUILTIN_IMAGE_DATASET_IDS.includes(datasetId)) {
    await writeBuiltinImages(datasetId, dir);
    return builtinImageNames(datasetId).length;
  }
  const pictures = await datasetPictureSizes(db, datasetId);
  for (const { name, bytes } of pictures) {
    const file = path.join(dir, name);
    const existing = await stat(file).catch(() => null);
    if (existing?.isFile() && existing.size === bytes) continue;
    const content = await getDatasetPicture(db, datasetId, name);
    if (!content) throw new MissingPictureError(`dataset ${datasetId} lost its picture ${JSON.stringify(name)}`);
    const partial = `${file}.${process.pid}.${Date.now()}.part`;
    await writeFile(partial, content, { mode: 0o644 });
    await rename(partial, file);
  }
  return pictures.length;
}
