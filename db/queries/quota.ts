/**
 * Monthly launch quotas (formal evaluations, manual evaluations) per user and UTC calendar month.
 * A slot is taken by one conditional upsert: PostgreSQL serialises concurrent upserts of the same
 * (user, month, kind) row and re-checks `used < limit` against the row as the winner left it, so
 * fifty launches racing for the last slot cannot both see it free.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { quotaUsage, runLogs } from '../schema';

export type QuotaKind = 'formal' | 'manual';

/** The same shape as the `quota` block of config/env.ts, so `deps.env.quota` can be passed as is. */
export interface QuotaLimits {
  formalPerMonth: number;
  manualPerMonth: number;
}

export interface QuotaUse {
  month: string;
  formal: { used: number; limit: number };
  manual: { used: number; limit: number };
}

/** A database handle or an open transaction: quota moves are meant to share the launch's transaction. */
export type Queryable = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

/** 'YYYY-MM' of the date's UTC calendar month. */
export function utcMonth(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** 'YYYY-MM-01' of the month after the given 'YYYY-MM': the day a month's quota resets. */
export function quotaResetDate(month: string): string {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, monthNumber, 1)).toISOString().slice(0, 10);
}

export function quotaLimit(limits: QuotaLimits, kind: QuotaKind): number {
  return kind === 'formal' ? limits.formalPerMonth : limits.manualPerMonth;
}

/** Takes one slot when one is left; false means the month's quota is used up. */
export async function consumeQuota(
  tx: Queryable,
  userId: string,
  kind: QuotaKind,
  month: string,
  limit: number,
): Promise<boolean> {
  // The insert arm is guarded too, so a limit of 0 never creates a row with used = 1.
  const rows = await tx.execute<{ used: number }>(sql`
    insert into quota_usage (user_id, month, kind, used)
    select ${userId}::uuid, ${month}, ${kind}, 1
     where ${limit}::int > 0
    on conflict (user_id, month, kind) do update
       set used = quota_usage.used + 1
     where quota_usage.used < ${limit}::int
    returning used`);
  return rows.length === 1;
}

/** Gives a slot back (a launch that could not start); never goes below zero. */
export async function releaseQuota(tx: Queryable, userId: string, kind: QuotaKind, month: string): Promise<void> {
  await tx
    .update(quotaUsage)
    .set({ used: sql`${quotaUsage.used} - 1` })
    .where(
      and(
        eq(quotaUsage.userId, userId),
        eq(quotaUsage.kind, kind),
        eq(quotaUsage.month, month),
        gt(quotaUsage.used, 0),
      ),
    );
}

export async function quotaUse(db: Queryable, userId: string, month: string, limits: QuotaLimits): Promise<QuotaUse> {
  const rows = await db
    .select({ kind: quotaUsage.kind, used: quotaUsage.used })
    .from(quotaUsage)
    .where(and(eq(quotaUsage.userId, userId), eq(quotaUsage.month, month)));
  const used = (kind: QuotaKind) => rows.find((r) => r.kind === kind)?.used ?? 0;
  return {
    month,
    formal: { used: used('formal'), limit: limits.formalPerMonth },
    manual: { used: used('manual'), limit: limits.manualPerMonth },
  };
}

/** The dedupe key of the log line that records a run's refund; the line is the refund's record. */
export const QUOTA_REFUND_LOG_KEY = 'quota-refund';

export interface RefundableRun {
  id: string;
  ownerId: string;
  type: string;
  createdAt: Date;
  config: { quotaMonth?: string };
}

/**
 * Gives a formal run's slot back, once: the run's refund line and the counter move in one
 * transaction, so a retry finds the line and takes nothing more. The month is the one the launch
 * charged (runs launched before it was recorded: the month they were created in). True when the
 * slot is given back, now or by an earlier call; false for a run that took none.
 */
export async function refundRunQuota(db: Db, run: RefundableRun, message: string): Promise<boolean> {
  if (run.type !== 'formal') return false;
  const month = run.config.quotaMonth ?? utcMonth(run.createdAt);
  await db.transaction(async (tx) => {
    const recorded = await tx
      .insert(runLogs)
      .values({ runId: run.id, level: 'info', message, dedupeKey: QUOTA_REFUND_LOG_KEY })
      .onConflictDoNothing({ target: [runLogs.runId, runLogs.dedupeKey] })
      .returning({ id: runLogs.id });
    if (recorded.length === 1) await releaseQuota(tx, run.ownerId, 'formal', month);
  });
  return true;
}

/** Whether the run's quota slot was given back (refundRunQuota). */
export async function runQuotaRefunded(db: Queryable, runId: string): Promise<boolean> {
  const rows = await db
    .select({ id: runLogs.id })
    .from(runLogs)
    .where(and(eq(runLogs.runId, runId), eq(runLogs.dedupeKey, QUOTA_REFUND_LOG_KEY)));
  return rows.length > 0;
}

/** The refusal users read when a launch finds the month's quota used. */
export function quotaExhaustedMessage(kind: QuotaKind, used: number, limit: number, month: string): string {
  const what = kind === 'formal' ? 'formal evaluation' : 'manual evaluation';
  return `${what} quota used: ${used} of ${limit} this month (${month}, UTC); it resets on ${quotaResetDate(month)}`;
}
