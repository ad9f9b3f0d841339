/** How a run's traffic to its endpoint stands (the adaptive limit, 429s, waits for the shared budget). */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { runTraffic } from '../schema';

export interface RunTrafficView {
  concurrencyLimit: number;
  maxConcurrency: number;
  rateLimited: number;
  budgetWaitMs: number;
  updatedAt: Date;
}

export async function readRunTraffic(db: Db, runId: string): Promise<RunTrafficView | null> {
  const [row] = await db
    .select({
      concurrencyLimit: runTraffic.concurrencyLimit,
      maxConcurrency: runTraffic.maxConcurrency,
      rateLimited: runTraffic.rateLimited,
      budgetWaitMs: runTraffic.budgetWaitMs,
      updatedAt: runTraffic.updatedAt,
    })
    .from(runTraffic)
    .where(eq(runTraffic.runId, runId));
  return row ?? null;
}

/** Records the limit as it is now and adds the 429s and budget waits seen since the last report. */
export async function reportRunTraffic(
  db: Db,
  runId: string,
  now: { concurrencyLimit: number; maxConcurrency: number },
  added: { rateLimited: number; budgetWaitMs: number },
): Promise<void> {
  await db
    .insert(runTraffic)
    .values({ runId, ...now, rateLimited: added.rateLimited, budgetWaitMs: Math.round(added.budgetWaitMs) })
    .onConflictDoUpdate({
      target: runTraffic.runId,
      set: {
        ...now,
        rateLimited: sql`${runTraffic.rateLimited} + ${added.rateLimited}`,
        budgetWaitMs: sql`${runTraffic.budgetWaitMs} + ${Math.round(added.budgetWaitMs)}`,
        updatedAt: sql`now()`,
      },
    });
}
