/**
 * Keeps a container host's jobs directory from growing without end: every interval it removes the
 * directories of runs that ended more than the retention ago (or that the database no longer
 * knows) and the dataset caches no job used for the idle limit. Run by workers that serve the
 * containers queue, beside the container reaper.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { runFilesExpired } from '../db/queries/runRecords';
import { pruneJobsDir, type Pruned } from '../storage/jobsRetention';

export interface JobsJanitor {
  /** The sweep made at start. */
  first: Promise<Pruned>;
  sweep: () => Promise<Pruned>;
  stop: () => void;
}

export function startJobsJanitor(o: {
  db: Db;
  jobsDir: string;
  retentionMs: number;
  cacheIdleMs: number;
  logger: Logger;
  intervalMs: number;
}): JobsJanitor {
  const sweep = async (): Promise<Pruned> => {
    try {
      const now = new Date();
      const pruned = await pruneJobsDir(o.jobsDir, {
        runExpired: (runId) => runFilesExpired(o.db, runId, now, o.retentionMs),
        cacheIdleMs: o.cacheIdleMs,
        now: now.getTime(),
      });
      if (pruned.runs.length + pruned.caches.length > 0)
        o.logger.info({ runs: pruned.runs.length, caches: pruned.caches }, 'removed expired job files');
      return pruned;
    } catch (error) {
      o.logger.warn({ err: error }, 'jobs directory sweep failed; will try again');
      return { runs: [], caches: [] };
    }
  };
  const first = sweep();
  const timer = setInterval(() => void sweep(), o.intervalMs);
  timer.unref();
  return { first, sweep, stop: () => clearInterval(timer) };
}
