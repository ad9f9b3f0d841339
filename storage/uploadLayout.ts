/**
 * Where uploads live under the upload directory: finished versions at `<evaluationId>/<uuid>`
 * (the storage path kept in the database, relative so the directory can be mounted elsewhere), and
 * uploads still arriving under `.staging/<uuid>`, on the same file system so that finishing one is
 * a rename.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from './uploadPaths';

export const STAGING_DIR = '.staging';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const STORAGE_PATH = new RegExp(`^${UUID}/${UUID}$`, 'i');

export function stagingRoot(uploadDir: string): string {
  return path.join(uploadDir, STAGING_DIR);
}

export function storagePathFor(evaluationId: string, versionId: string): string {
  return `${evaluationId}/${versionId}`;
}

/** The directory of a stored version; refuses anything that is not a storage path this module made. */
export function versionDir(uploadDir: string, storagePath: string): string {
  if (!STORAGE_PATH.test(storagePath)) throw new Error(`not an upload storage path: ${JSON.stringify(storagePath)}`);
  const dir = path.join(uploadDir, storagePath);
  if (!isInside(uploadDir, dir)) throw new Error(`storage path ${storagePath} leaves the upload directory`);
  return dir;
}

/** Removes a version's files: only ever for a version whose database row was never written. */
export async function removeVersionDir(uploadDir: string, storagePath: string): Promise<void> {
  await rm(versionDir(uploadDir, storagePath), { recursive: true, force: true });
}

/**
 * Removes staging directories untouched for `olderThanMs`: what a process killed in the middle of
 * an upload left behind. Younger ones may belong to an upload another API process is receiving.
 */
export async function sweepStaging(uploadDir: string, olderThanMs: number, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(stagingRoot(uploadDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(stagingRoot(uploadDir), name);
    const info = await stat(dir).catch(() => null);
    if (!info || now - info.mtimeMs < olderThanMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
