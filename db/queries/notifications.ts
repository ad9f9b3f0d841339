/**
 * The outbox of mails (see notifications/). Queueing is an insert that the event's dedupe key makes
 * idempotent; delivery is claimed row by row with `FOR UPDATE SKIP LOCKED` and a lease, so several
 * dispatchers (one per worker process) share the work and never send the same mail at once.
 */
import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { notifications, users } from '../schema';
import type { NewNotification, Recipient } from '../../notifications/notification';

export type NotificationRow = typeof notifications.$inferSelect;

/** Long enough for any one SMTP error's text; what matters is its start. */
const MAX_ERROR_LENGTH = 2_000;

/** The user's address as it is now, to be copied into the mail; null when there is no such user. */
export async function findRecipient(db: Db | Tx, userId: string): Promise<Recipient | null> {
  const [row] = await db
    .select({ userId: users.id, email: users.email })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  return row ?? null;
}

/**
 * Queues a mail; one already queued under the same dedupe key is kept as it is. Answers whether
 * this call queued it. Pass the transaction that records the event, where there is one, so the
 * mail exists exactly when the event does.
 */
export async function queueNotification(db: Db | Tx, n: NewNotification): Promise<boolean> {
  const inserted = await db
    .insert(notifications)
    .values({
      kind: n.kind,
      recipientId: n.recipient.userId,
      recipientEmail: n.recipient.email,
      subject: n.subject,
      textBody: n.text,
      htmlBody: n.html,
      dedupeKey: n.dedupeKey,
    })
    .onConflictDoNothing({ target: notifications.dedupeKey })
    .returning({ id: notifications.id });
  return inserted.length > 0;
}

/**
 * Takes up to `limit` due mails for delivery: their try is counted and they are not due again until
 * `leaseMs` from now, so a dispatcher that dies mid-send leaves them to be tried again later and no
 * other dispatcher takes them meanwhile. Rows another dispatcher is claiming are skipped, not waited for.
 */
export async function claimDueNotifications(db: Db, limit: number, leaseMs: number): Promise<NotificationRow[]> {
  const due = db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.status, 'pending'), lte(notifications.nextAttemptAt, sql`now()`)))
    .orderBy(asc(notifications.nextAttemptAt))
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(notifications)
    .set({
      attempts: sql`${notifications.attempts} + 1`,
      nextAttemptAt: sql`now() + ${leaseMs} * interval '1 millisecond'`,
    })
    .where(inArray(notifications.id, due))
    .returning();
}

/** A mail that went out; a late report about a mail no longer pending changes nothing. */
export async function markSent(db: Db, id: string): Promise<void> {
  await db
    .update(notifications)
    .set({ status: 'sent', sentAt: sql`now()` })
    .where(and(eq(notifications.id, id), eq(notifications.status, 'pending')));
}

/** A try that failed: due again at `nextAttemptAt`, or given up ('failed') when that is null. */
export async function markFailed(db: Db, id: string, error: string, nextAttemptAt: Date | null): Promise<void> {
  const lastError = error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH - 1)}…` : error;
  await db
    .update(notifications)
    .set(nextAttemptAt === null ? { status: 'failed', lastError } : { lastError, nextAttemptAt })
    .where(and(eq(notifications.id, id), eq(notifications.status, 'pending')));
}
