/**
 * The container host's jobs directory is pruned (workers/jobsJanitor.ts against the real
 * database): a run's job files go once the run has ended longer ago than the retention, or when the
 * database no longer knows the run; a running run's stay, and so do recent ones; dataset caches go
 * once unused for the idle limit, and a job using one marks it used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { eq } from 'drizzle-orm';
import { connectDb, type DbHandle } from '../../db/client';
import { runs } from '../../db/schema';
import { MULTIMODAL_CACHE_DIR, touchCache } from '../../storage/jobsRetention';
import { startJobsJanitor } from '../../workers/jobsJanitor';
import { requireEnv } from '../support/env';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';

const HOUR = 3_600_000;
let handle: DbHandle;
let jobsDir: string;

beforeAll(async () => {
  handle = connectDb(requireEnv('DATABASE_URL'), { max: 2 });
  jobsDir = await mkdtemp(path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), 'jobs-'));
});

afterAll(async () => {
  await handle?.close();
  if (jobsDir) await rm(jobsDir, { recursive: true, force: true });
});

async function runDir(runId: string): Promise<void> {
  await mkdir(path.join(jobsDir, runId, 'eval-arith', 'output'), { recursive: true });
  await writeFile(path.join(jobsDir, runId, 'eval-arith', 'output', 'result.json'), '{}');
}

async function cache(name: string, ageMs: number): Promise<string> {
  const dir = path.join(jobsDir, MULTIMODAL_CACHE_DIR, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'img-0000.png'), 'png');
  const then = new Date(Date.now() - ageMs);
  await utimes(dir, then, then);
  return dir;
}

describe('the jobs janitor', () => {
  it('removes the files of runs ended past the retention and of unknown runs, and idle caches; keeps the rest', async () => {
    const ownerId = await insertUser(handle.db);
    const dataset = await insertArithmeticDataset(handle.db, 1);
    const newRun = () => insertRun(handle.db, { ownerId, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
    const [oldEnded, recentEnded, running, neverStarted] = await Promise.all([newRun(), newRun(), newRun(), newRun()]);
    const ended = (hoursAgo: number) => new Date(Date.now() - hoursAgo * HOUR);
    await handle.db
      .update(runs)
      .set({ status: 'succeeded', endedAt: ended(30) })
      .where(eq(runs.id, oldEnded));
    await handle.db
      .update(runs)
      .set({ status: 'failed', endedAt: ended(2) })
      .where(eq(runs.id, recentEnded));
    await handle.db.update(runs).set({ status: 'running' }).where(eq(runs.id, running));
    // Stopped before it started: no end time; counted from its creation (just now), so kept.
    await handle.db.update(runs).set({ status: 'stopped' }).where(eq(runs.id, neverStarted));
    const unknown = randomUUID();
    for (const runId of [oldEnded, recentEnded, running, neverStarted, unknown]) await runDir(runId);
    await mkdir(path.join(jobsDir, 'not-a-run'), { recursive: true });
    await cache('mm-old-0123456789abcdef', 8 * 24 * HOUR);
    const used = await cache('mm-used-0123456789abcdef', 8 * 24 * HOUR);
    await cache('mm-fresh-0123456789abcdef', HOUR);
    // A job used the old cache just now.
    await touchCache(used);

    const janitor = startJobsJanitor({
      db: handle.db,
      jobsDir,
      retentionMs: 24 * HOUR,
      cacheIdleMs: 7 * 24 * HOUR,
      logger: pino({ level: 'silent' }),
      intervalMs: 3_600_000,
    });
    try {
      const pruned = await janitor.first;
      expect(pruned.runs.sort()).toEqual([oldEnded, unknown].sort());
      expect(pruned.caches).toEqual(['mm-old-0123456789abcdef']);
    } finally {
      janitor.stop();
    }
    expect((await readdir(jobsDir)).sort()).toEqual(
      [MULTIMODAL_CACHE_DIR, 'not-a-run', recentEnded, running, neverStarted].sort(),
    );
    expect((await readdir(path.join(jobsDir, MULTIMODAL_CACHE_DIR))).sort()).toEqual([
      'mm-fresh-0123456789abcdef',
      'mm-used-0123456789abcdef',
    ]);
  });

  it('keeps going when the directory does not exist yet', async () => {
    const janitor = startJobsJanitor({
      db: handle.db,
      jobsDir: path.join(jobsDir, 'absent'),
      retentionMs: 0,
      cacheIdleMs: 1,
      logger: pino({ level: 'silent' }),
      intervalMs: 3_600_000,
    });
    try {
      expect(await janitor.first).toEqual({ runs: [], caches: [] });
      expect(await janitor.sweep()).toEqual({ runs: [], caches: [] });
    } finally {
      janitor.stop();
    }
  });
});
