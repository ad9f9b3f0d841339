/**
 * Idempotency keys of launches. `claimIdempotencyKey` runs first inside the launch's transaction:
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

export async function forgetIdempotencyKey(tx: Db | Tx, request: Pick<IdempotentRequest, 'userId' | 'key'>): Promise<void> {
  await tx.delete(idempotencyKeys).where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.key, request.key)));
}

/** A launch whose workflow could not be started is undone; its key must not keep answering with it. */
export async function forgetKeysOfRun(tx: Db | Tx, runId: string): Promise<void> {
  await tx.delete(idempotencyKeys).where(eq(idempotencyKeys.runId, runId));
}
