/**
 * What `ls` shows of a stored version: the entries directly under a path (or the one entry, when
 * the path is a file), named by their path from the version's root. Links inside the version are
 * followed to find the directory; nothing outside it is ever read.
 */
import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { UploadEntry } from '../contracts/upload';
import { resolveInside } from './resolveInside';
import { joinInside } from './uploadPaths';

/** Entries at `rel` (a safe relative path, '' for the root), sorted by name; null when nothing is there. */
export async function listUploadEntries(versionRoot: string, rel: string): Promise<UploadEntry[] | null> {
  const resolution = await resolveInside(versionRoot, rel);
  if (!resolution.inside) return null;
  const target = path.join(versionRoot, resolution.path);
  const info = await lstat(target).catch(() => null);
  if (!info) return null;
  if (!info.isDirectory()) return [toEntry(rel, info)];
  const names = (await readdir(target)).sort();
  const entries: UploadEntry[] = [];
  for (const name of names) {
    const child = await lstat(path.join(target, name)).catch(() => null);
    if (child) entries.push(toEntry(joinInside(rel, name), child));
  }
  return entries;
}

function toEntry(rel: string, info: Stats): UploadEntry {
  const type = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : 'file';
  return { path: rel, type, size: type === 'file' ? info.size : 0, mtime: info.mtime.toISOString() };
}
