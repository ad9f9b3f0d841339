/**
 * What a container host keeps under its jobs directory, and for how long (docs/container-jobs.md,
 * "Clean-up"): `<runId>/` holds a run's job inputs and outputs, read into the database when each
 * job ends, and kept afterwards only for an operator to look at; `.multimodal-data/<dataset>-<hash>/`
 * holds a dataset's pictures, written once per content and shared by every run on the host (its
 * modification time is touched each time a job uses it).
 */
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';

export const MULTIMODAL_CACHE_DIR = '.multimodal-data';
const RUN_DIR = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PruneOptions {
  /** Whether a run's directory may go (its run ended long enough ago, or is unknown). */
  runExpired: (runId: string) => Promise<boolean>;
  /** A dataset cache unused for this long goes. */
  cacheIdleMs: number;
  now?: number;
}

export interface Pruned {
  runs: string[];
  caches: string[];
}

/** Removes the expired run directories and idle dataset caches; anything else there is left alone. */
export async function pruneJobsDir(jobsDir: string, o: PruneOptions): Promise<Pruned> {
  const now = o.now ?? Date.now();
  const pruned: Pruned = { runs: [], caches: [] };
  for (const name of await namesIn(jobsDir)) {
    if (!RUN_DIR.test(name)) continue;
    if (await o.runExpired(name.toLowerCase())) {
      await rm(path.join(jobsDir, name), { recursive: true, force: true });
      pruned.runs.push(name);
    }
  }
  const caches = path.join(jobsDir, MULTIMODAL_CACHE_DIR);
  for (const name of await namesIn(caches)) {
    const info = await stat(path.join(caches, name)).catch(() => null);
    if (!info || now - info.mtimeMs < o.cacheIdleMs) continue;
    await rm(path.join(caches, name), { recursive: true, force: true });
    pruned.caches.push(name);
  }
  return pruned;
}

/** Marks a dataset cache as used now, so the sweep keeps it. */
export async function touchCache(dir: string): Promise<void> {
  const now = new Date();
  await utimes(dir, now, now).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
