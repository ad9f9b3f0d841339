/**
 * The queue for container units. A private run asks for `units` of a GPU type; requests wait in
 * the order (priority rank, requested at, run id), and a request is granted when it and every
 * request queued before it fit in the units the type has free. That is "the head of the queue
 * first", generalised: whoever is ahead keeps the room it needs, so no later or lower-priority run
 * overtakes it, and when several fit at once each is granted on its own call in any order.
 *
 * Every decision about a type is taken under a transaction-scoped advisory lock for that type, so
 * concurrent grants and releases are serialised and units are never handed out twice.
 */
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { containerLeases } from '../schema';
import { PRIORITY_RANK, type Priority } from '../../contracts/resources';

export type LeaseRow = typeof containerLeases.$inferSelect;

/** Arbitrary constant: the lock class of the per-type queue locks (the type's hash is the key). */
const LEASE_LOCK_CLASS = 72_430_010;

export class LeaseMissing extends Error {
  override name = 'LeaseMissing';
  constructor(readonly runId: string) {
    super(`run ${runId} has not requested container units`);
  }
}

export interface LeaseRequest {
  runId: string;
  gpuType: string;
  units: number;
  priority: Priority;
}

/** Queues the run's request; asking again (a retried activity) keeps the first request and its place. */
export async function requestLease(db: Db, request: LeaseRequest): Promise<void> {
  if (!Number.isInteger(request.units) || request.units < 1)
    throw new Error(`a lease needs a positive whole number of units, got ${request.units}`);
  await db
    .insert(containerLeases)
    .values({
      runId: request.runId,
      gpuType: request.gpuType,
      units: request.units,
      priorityRank: PRIORITY_RANK[request.priority],
    })
    .onConflictDoNothing({ target: containerLeases.runId });
}

export interface GrantOutcome {
  granted: boolean;
  /** Requests of the same type waiting before this one (0 once granted, or when it was released). */
  ahead: number;
}

/**
 * Grants the run's units when they fit: the lease is unreleased, and the units held by granted
 * leases of its type, plus those of every lease waiting before it, plus its own, are at most
 * `capacityUnits`. Granting an already granted lease answers granted again; a released lease is
 * never granted. Throws LeaseMissing when the run never asked.
 */
export async function tryGrantLease(db: Db, runId: string, capacityUnits: number): Promise<GrantOutcome> {
  return db.transaction(async (tx) => {
    const gpuType = await leaseType(tx, runId);
    await lockType(tx, gpuType);
    const [lease] = await tx.select().from(containerLeases).where(eq(containerLeases.runId, runId));
    if (!lease) throw new LeaseMissing(runId);
    if (lease.releasedAt) return { granted: false, ahead: 0 };
    if (lease.grantedAt) return { granted: true, ahead: 0 };

    const [before] = await tx
      .select({
        count: sql<number>`count(*)::int`,
        units: sql<number>`coalesce(sum(${containerLeases.units}), 0)::int`,
      })
      .from(containerLeases)
      .where(
        and(
          waiting(gpuType),
          // Compared in SQL: the request time has microseconds that a JavaScript Date would drop.
          sql`(${containerLeases.priorityRank}, ${containerLeases.requestedAt}, ${containerLeases.runId}) <
            (select mine.priority_rank, mine.requested_at, mine.run_id from container_leases mine where mine.run_id = ${runId}::uuid)`,
        ),
      );
    const held = await heldUnits(tx, gpuType);
    const ahead = before?.count ?? 0;
    if (held + (before?.units ?? 0) + lease.units > capacityUnits) return { granted: false, ahead };
    await tx
      .update(containerLeases)
      .set({ grantedAt: sql`now()` })
      .where(eq(containerLeases.runId, runId));
    return { granted: true, ahead: 0 };
  });
}

export interface ReleaseOutcome {
  /**
   * Waiting runs of the same type that tryGrantLease would now grant, in queue order, so the caller
   * can nudge them; without a capacity, every waiting run of the type.
   */
  nextWaiting: string[];
}

/**
 * Gives the run's units back (or withdraws its request if it was still waiting). Releasing again
 * changes nothing and answers the queue as it stands. A run that never asked releases nothing.
 */
export async function releaseLease(
  db: Db,
  runId: string,
  capacityUnits = Number.POSITIVE_INFINITY,
): Promise<ReleaseOutcome> {
  return db.transaction(async (tx) => {
    const [known] = await tx
      .select({ gpuType: containerLeases.gpuType })
      .from(containerLeases)
      .where(eq(containerLeases.runId, runId));
    if (!known) return { nextWaiting: [] };
    await lockType(tx, known.gpuType);
    await tx
      .update(containerLeases)
      .set({ releasedAt: sql`now()` })
      .where(and(eq(containerLeases.runId, runId), isNull(containerLeases.releasedAt)));

    let free = capacityUnits - (await heldUnits(tx, known.gpuType));
    const queue = await tx
      .select({ runId: containerLeases.runId, units: containerLeases.units })
      .from(containerLeases)
      .where(waiting(known.gpuType))
      .orderBy(asc(containerLeases.priorityRank), asc(containerLeases.requestedAt), asc(containerLeases.runId));
    const nextWaiting: string[] = [];
    for (const lease of queue) {
      if (lease.units > free) break;
      free -= lease.units;
      nextWaiting.push(lease.runId);
    }
    return { nextWaiting };
  });
}

export interface LeaseUsage {
  /** Units held by granted, unreleased leases. */
  held: number;
  /** Leases waiting to be granted. */
  queued: number;
}

/** Per GPU type that has any live lease: units held and requests waiting. */
export async function leaseUsage(db: Db): Promise<Map<string, LeaseUsage>> {
  const rows = await db
    .select({
      gpuType: containerLeases.gpuType,
      held: sql<number>`coalesce(sum(${containerLeases.units}) filter (where ${containerLeases.grantedAt} is not null), 0)::int`,
      queued: sql<number>`(count(*) filter (where ${containerLeases.grantedAt} is null))::int`,
    })
    .from(containerLeases)
    .where(isNull(containerLeases.releasedAt))
    .groupBy(containerLeases.gpuType);
  return new Map(rows.map((r) => [r.gpuType, { held: r.held, queued: r.queued }]));
}

/** The run's lease, or undefined when it never asked. */
export async function getLease(db: Db, runId: string): Promise<LeaseRow | undefined> {
  const [lease] = await db.select().from(containerLeases).where(eq(containerLeases.runId, runId));
  return lease;
}

async function leaseType(tx: Tx, runId: string): Promise<string> {
  const [lease] = await tx
    .select({ gpuType: containerLeases.gpuType })
    .from(containerLeases)
    .where(eq(containerLeases.runId, runId));
  if (!lease) throw new LeaseMissing(runId);
  return lease.gpuType;
}

async function lockType(tx: Tx, gpuType: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${LEASE_LOCK_CLASS}::int, hashtext(${gpuType}))`);
}

async function heldUnits(tx: Tx, gpuType: string): Promise<number> {
  const [row] = await tx
    .select({ units: sql<number>`coalesce(sum(${containerLeases.units}), 0)::int` })
    .from(containerLeases)
    .where(
      and(
        eq(containerLeases.gpuType, gpuType),
        isNotNull(containerLeases.grantedAt),
        isNull(containerLeases.releasedAt),
      ),
    );
  return row?.units ?? 0;
}

function waiting(gpuType: string) {
  return and(
    eq(containerLeases.gpuType, gpuType),
    isNull(containerLeases.grantedAt),
    isNull(containerLeases.releasedAt),
  );
}
