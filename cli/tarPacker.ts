/**
 * Packs a local directory as a tar stream, file contents read as the stream is consumed (nothing
 * is held whole in memory). The directory is walked first, so problems show before anything is
 * sent and the total size is known for the progress line. Symbolic links are packed as links.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pack, type Headers, type Pack } from 'tar-stream';

export interface PlannedEntry {
  /** The name in the archive, '/'-separated. */
  name: string;
  type: 'dir' | 'file' | 'symlink';
  /** Where it is on this machine. */
  source: string;
  size: number;
  executable: boolean;
  mtime: Date;
  linkname?: string;
}

export interface PackPlan {
  entries: PlannedEntry[];
  /** Total size of the files' contents. */
  bytes: number;
}

/**
 * Every entry under `dir`, parents before children, named under `prefix` ('' for the contents
 * themselves; a name for `cp`, which places the directory itself under the remote path).
 */
export async function planDirectory(dir: string, prefix: string): Promise<PackPlan> {
  const entries: PlannedEntry[] = [];
  let bytes = 0;
  if (prefix !== '') entries.push(await planned(dir, prefix));
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(dir, rel))).sort();
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const entry = await planned(path.join(dir, childRel), prefix === '' ? childRel : `${prefix}/${childRel}`);
      entries.push(entry);
      bytes += entry.size;
      if (entry.type === 'dir') await walk(childRel);
    }
  };
  await walk('');
  return { entries, bytes };
}

async function planned(source: string, name: string): Promise<PlannedEntry> {
  const info = await lstat(source);
  const base = { name, source, mtime: info.mtime, executable: (info.mode & 0o111) !== 0, size: 0 };
  if (info.isDirectory()) return { ...base, type: 'dir' };
  if (info.isSymbolicLink()) return { ...base, type: 'symlink', linkname: await readlink(source) };
  if (info.isFile()) return { ...base, type: 'file', size: info.size };
  throw new Error(`${source} is not a regular file, directory or symbolic link, so it cannot be uploaded`);
}

/** The tar stream of a plan; a file that cannot be read (or changed size) errors the stream. */
export function packPlan(plan: PackPlan): Readable {
  const archive = pack();
  void (async () => {
    for (const entry of plan.entries) await addEntry(archive, entry);
    archive.finalize();
  })().catch((error: Error) => archive.destroy(error));
  return archive;
}

async function addEntry(archive: Pack, entry: PlannedEntry): Promise<void> {
  const header: Headers = {
    name: entry.type === 'dir' ? `${entry.name}/` : entry.name,
    type: entry.type === 'dir' ? 'directory' : entry.type,
    mode: entry.type === 'dir' || entry.executable ? 0o755 : 0o644,
    mtime: entry.mtime,
  };
  if (entry.type === 'symlink') header.linkname = entry.linkname;
  if (entry.type === 'file') header.size = entry.size;
  let settle!: (error?: Error | null) => void;
  const added = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  const sink = archive.entry(header, (error) => settle(error));
  if (entry.type === 'file') {
    for await (const chunk of createReadStream(entry.source)) {
      if (!sink.write(chunk)) await once(sink, 'drain');
    }
    sink.end();
  }
  await added;
}
