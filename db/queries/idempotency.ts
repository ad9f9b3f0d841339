/**
 * Idempotency keys of requests that start work on a run (launches) or change one (stops). `claimIdempotencyKey` runs first inside the launch's transaction:
 * a concurrent request with the same key blocks on the primary key until the first commits, then
 * sees what it made. A launch refused inside its transaction forgets the key, so only work that
 * was done is pinned to it.
 */
import { and, eq } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { idempotencyKeys } from '../schema';

export interface IdempotentRequest {
  userId: string;
  key: string;
  requestHash: string;
}

export type KeyClaim =
  | { state: 'new' }
  /** The key already made a run: answer with it. */
  | { state: 'done'; runId: string }
  /** The key was used for a different request. */
  | { state: 'mismatch' };

export async function claimIdempotencyKey(tx: Db | Tx, request: IdempotentRequest): Promise<KeyClaim> {
  const inserted = await tx
    .insert(idempotencyKeys)
    .values({ userId: request.userId, key: request.key, requestHash: request.requestHash })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length > 0) return { state: 'new' };
  const [existing] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.key, request.key)));
  if (!existing || existing.requestHash !== request.requestHash) return { state: 'mismatch' };
  // Committed rows always carry the run: a claim without one is forgotten in the same transaction.
  return existing.runId ? { state: 'done', runId: existing.runId } : { state: 'mismatch' };
}

export async function recordIdempotentRun(tx: Db | Tx, request: IdempotentRequest, runId: string): Promise<void> {
  await tx
    .update(idempotencyKeys)
    .set({ runId })
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.key, request.key)));
}

export async function forgetIdempotencyKey(
  tx: Db | Tx,
  request: Pick<IdempotentRequest, 'userId' | 'key'>,
): Promise<void> {
  await tx
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.key, request.key)));
}

/**
 * For requests whose effect is idempotent by itself (a stop only ever sets the run's first stop
 * time): the key is looked up before the work and recorded after it, with no transaction around
 * both. Two racing copies may both do the (harmless) work; the key then answers every later retry.
 */
export async function lookUpIdempotencyKey(db: Db | Tx, request: IdempotentRequest): Promise<KeyClaim> {
  const [existing] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.key, request.key)));
  if (!existing) return { state: 'new' };
  if (existing.requestHash !== request.requestHash) return { state: 'mismatch' };
  // A row without a run is a launch's claim still in its transaction: only a launch request can match it.
  return existing.runId ? { state: 'done', runId: existing.runId } : { state: 'mismatch' };
}

/** Pins the key to the run its request acted on; a copy that raced to the same key leaves it as it is. */
export async function rememberIdempotentEffect(db: Db | Tx, request: IdempotentRequest, runId: string): Promise<void> {
  await db
    .insert(idempotencyKeys)
    .values({ userId: request.userId, key: request.key, requestHash: request.requestHash, runId })
    .onConflictDoNothing();
}

/** A launch whose workflow could not be started is undone; its key must not keep answering with it. */
export async function forgetKeysOfRun(tx: Db | Tx, runId: string): Promise<void> {
  await tx.delete(idempotencyKeys).where(eq(idempotencyKeys.runId, runId));
}
