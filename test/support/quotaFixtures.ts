/** Reading and setting how many formal evaluations a user has used this month. */
import type { Db } from '../../db/client';
import { and, eq } from 'drizzle-orm';
import { quotaUsage } from '../../db/schema';
import { utcMonth } from '../../db/queries/quota';

/** As if earlier launches had taken them. */
export async function setFormalUsed(db: Db, userId: string, used: number): Promise<void> {
  await db
    .insert(quotaUsage)
    .values({ userId, month: utcMonth(new Date()), kind: 'formal', used })
    .onConflictDoUpdate({ target: [quotaUsage.userId, quotaUsage.month, quotaUsage.kind], set: { used } });
}

/** The formal quota slots the user has taken this month (0 before any). */
export async function formalUsed(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ used: quotaUsage.used })
    .from(quotaUsage)
    .where(
      and(eq(quotaUsage.userId, userId), eq(quotaUsage.month, utcMonth(new Date())), eq(quotaUsage.kind, 'formal')),
    );
  return row?.used ?? 0;
}
