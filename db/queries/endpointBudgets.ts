/**
 * Endpoint budgets: the limits an admin set for an endpoint identity (db/endpointIdentity.ts), and
 * the shared state every worker process draws on to keep them.
 *
 * Rates (requests and tokens a minute) are token buckets kept in the budget's row: a process takes
 * what its waiting requests need in one short transaction that locks the row, refills the buckets
 * for the time since the last take (by the database's clock, the one clock every process shares),
 * grants what is there and writes the rest back. Concurrent requests are slots held in lease rows,
 * one per process, that expire unless renewed: the take counts the live leases of the others under
 * the same lock, so a process killed mid-run gives its slots back when its lease runs out.
 */
import { and, eq, gt, ne, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { endpointBudgetLeases, endpointBudgets } from '../schema';
import type { EndpointIdentity } from '../endpointIdentity';

export interface BudgetLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  maxConcurrent: number | null;
}

export interface EndpointBudget extends EndpointIdentity, BudgetLimits {
  id: string;
  updatedAt: Date;
}

/** How many seconds' worth of a rate the bucket holds: the largest burst a budget lets through. */
export const BURST_SECONDS = 1;
/** When only concurrency holds requests back, how soon to ask again (a slot freed elsewhere). */
const CONCURRENCY_RETRY_MS = 25;

const columns = {
  id: endpointBudgets.id,
  baseUrl: endpointBudgets.baseUrl,
  keyFingerprint: endpointBudgets.keyFingerprint,
  requestsPerMinute: endpointBudgets.requestsPerMinute,
  tokensPerMinute: endpointBudgets.tokensPerMinute,
  maxConcurrent: endpointBudgets.maxConcurrent,
  updatedAt: endpointBudgets.updatedAt,
};

/** Sets the identity's limits (creating its budget); the buckets start full. */
export async function putEndpointBudget(
  db: Db,
  identity: EndpointIdentity,
  limits: BudgetLimits,
  updatedBy: string | null,
): Promise<EndpointBudget> {
  const [row] = await db
    .insert(endpointBudgets)
    .values({
      ...identity,
      ...limits,
      requestAllowance: capacity(limits.requestsPerMinute),
      tokenAllowance: capacity(limits.tokensPerMinute),
      updatedBy,
    })
    .onConflictDoUpdate({
      target: [endpointBudgets.baseUrl, endpointBudgets.keyFingerprint],
      set: { ...limits, updatedBy, updatedAt: sql`now()` },
    })
    .returning(columns);
  return row!;
}

export async function listEndpointBudgets(db: Db): Promise<(EndpointBudget & { concurrentInUse: number })[]> {
  return db
    .select({
      ...columns,
      concurrentInUse: sql<number>`coalesce((select sum(${endpointBudgetLeases.slots}) from ${endpointBudgetLeases}
        where ${endpointBudgetLeases.budgetId} = ${endpointBudgets.id} and ${endpointBudgetLeases.expiresAt} > now()), 0)::int`,
    })
    .from(endpointBudgets)
    .orderBy(endpointBudgets.baseUrl, endpointBudgets.keyFingerprint);
}

export async function deleteEndpointBudget(db: Db, id: string): Promise<boolean> {
  const gone = await db.delete(endpointBudgets).where(eq(endpointBudgets.id, id)).returning({ id: endpointBudgets.id });
  return gone.length > 0;
}

export async function findEndpointBudget(db: Db, identity: EndpointIdentity): Promise<EndpointBudget | null> {
  const [row] = await db
    .select(columns)
    .from(endpointBudgets)
    .where(
      and(eq(endpointBudgets.baseUrl, identity.baseUrl), eq(endpointBudgets.keyFingerprint, identity.keyFingerprint)),
    );
  return row ?? null;
}

export interface TakeRequest {
  budgetId: string;
  /** The process's lease holder id. */
  holder: string;
  /** Requests waiting to start. */
  requests: number;
  /** What each is reckoned to cost in tokens (prompt estimate + max_tokens). */
  tokensEach: number;
  /** Tokens reckoned for earlier requests and not spent (negative: spent beyond the reckoning). */
  tokenRefund: number;
  /** Slots the holder holds now (its requests in flight); the lease is set to this plus what is granted. */
  held: number;
  leaseTtlMs: number;
}

export interface TakeResult {
  granted: number;
  /** When fewer were granted than asked: how long until asking again can get more. */
  retryInMs: number;
  /** The budget's limits as the take found them; null when the budget is gone. */
  limits: BudgetLimits | null;
  /** Fewer were granted because the concurrent slots are taken (a slot coming free is worth asking again at once). */
  slotsFull: boolean;
}

/** Grants up to `requests` requests their rate allowance and concurrent slots, in one transaction. */
export async function takeFromBudget(db: Db, r: TakeRequest): Promise<TakeResult> {
  return db.transaction(async (tx) => {
    const [b] = await tx
      .select({
        requestsPerMinute: endpointBudgets.requestsPerMinute,
        tokensPerMinute: endpointBudgets.tokensPerMinute,
        maxConcurrent: endpointBudgets.maxConcurrent,
        requestAllowance: endpointBudgets.requestAllowance,
        tokenAllowance: endpointBudgets.tokenAllowance,
        // The refill runs to this instant, and the row records it as the last refill: no time is lost between the two.
        at: sql<string>`clock_timestamp()::text`,
        elapsedMs: sql<number>`(extract(epoch from clock_timestamp() - ${endpointBudgets.refilledAt}) * 1000)::float8`,
      })
      .from(endpointBudgets)
      .where(eq(endpointBudgets.id, r.budgetId))
      .for('update');
    if (!b) return { granted: r.requests, retryInMs: 0, limits: null, slotsFull: false };
    const limits = {
      requestsPerMinute: b.requestsPerMinute,
      tokensPerMinute: b.tokensPerMinute,
      maxConcurrent: b.maxConcurrent,
    };
    const elapsed = Math.max(0, Number(b.elapsedMs));
    const each = Math.max(1, r.tokensEach);
    let granted = r.requests;
    let slotsFull = false;
    const waits: number[] = [];

    let requestsLeft = 0;
    if (b.requestsPerMinute !== null) {
      const perMs = b.requestsPerMinute / 60_000;
      const have = Math.min(capacity(b.requestsPerMinute), b.requestAllowance + perMs * elapsed);
      granted = Math.min(granted, Math.max(0, Math.floor(have)));
      requestsLeft = have;
    }
    let tokensLeft = 0;
    if (b.tokensPerMinute !== null) {
      const perMs = b.tokensPerMinute / 60_000;
      const have = Math.min(capacity(b.tokensPerMinute), b.tokenAllowance + r.tokenRefund + perMs * elapsed);
      // The bucket may go into debt by one batch, so a request dearer than the bucket still goes.
      granted = have > 0 ? Math.min(granted, Math.max(1, Math.floor(have / each))) : 0;
      tokensLeft = have;
    }
    if (b.maxConcurrent !== null) {
      const [others] = await tx
        .select({ slots: sql<number>`coalesce(sum(${endpointBudgetLeases.slots}), 0)::int` })
        .from(endpointBudgetLeases)
        .where(
          and(
            eq(endpointBudgetLeases.budgetId, r.budgetId),
            ne(endpointBudgetLeases.holder, r.holder),
            gt(endpointBudgetLeases.expiresAt, sql`clock_timestamp()`),
          ),
        );
      const free = b.maxConcurrent - Number(others?.slots ?? 0) - r.held;
      if (free < granted) {
        waits.push(CONCURRENCY_RETRY_MS);
        slotsFull = true;
      }
      granted = Math.max(0, Math.min(granted, free));
    }
    requestsLeft -= granted;
    tokensLeft -= granted * each;
    if (granted < r.requests) {
      if (b.requestsPerMinute !== null && requestsLeft < 1)
        waits.push((1 - requestsLeft) / (b.requestsPerMinute / 60_000));
      if (b.tokensPerMinute !== null && tokensLeft <= 0) waits.push((1 - tokensLeft) / (b.tokensPerMinute / 60_000));
    }

    await tx
      .update(endpointBudgets)
      .set({
        ...(b.requestsPerMinute !== null ? { requestAllowance: requestsLeft } : {}),
        ...(b.tokensPerMinute !== null ? { tokenAllowance: tokensLeft } : {}),
        refilledAt: sql`${b.at}::timestamptz`,
        takes: sql`${endpointBudgets.takes} + 1`,
      })
      .where(eq(endpointBudgets.id, r.budgetId));
    // Written on every take, granted or not: it also gives back the slots of requests that have ended.
    if (b.maxConcurrent !== null) await setLease(tx, r.budgetId, r.holder, r.held + granted, r.leaseTtlMs);
    return { granted, retryInMs: waits.length > 0 ? Math.ceil(Math.max(...waits)) : 0, limits, slotsFull };
  });
}

/** Sets the holder's slots and renews its lease. */
export async function setLease(
  db: Pick<Db, 'insert'>,
  budgetId: string,
  holder: string,
  slots: number,
  ttlMs: number,
): Promise<void> {
  const expiresAt = sql`clock_timestamp() + ${`${Math.round(ttlMs)} milliseconds`}::interval`;
  await db
    .insert(endpointBudgetLeases)
    .values({ budgetId, holder, slots, expiresAt })
    .onConflictDoUpdate({
      target: [endpointBudgetLeases.budgetId, endpointBudgetLeases.holder],
      set: { slots, expiresAt },
    })
    .catch((error: unknown) => {
      // The budget was deleted meanwhile: there is nothing left to hold.
      if ((error as { code?: string }).code === '23503') return;
      throw error;
    });
}

function capacity(perMinute: number | null): number {
  return perMinute === null ? 0 : Math.max(1, (perMinute / 60) * BURST_SECONDS);
}
