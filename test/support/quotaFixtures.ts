/** Sets how many formal evaluations a user has used this month, as if earlier launches had taken them. */
import type { Db } from '../../db/client';
import { quotaUsage } from '../../db/schema';
import { utcMonth } from '../../db/queries/quota';

export async function setFormalUsed(db: Db, userId: string, used: number): Promise<void> {
  await db
    .insert(quotaUsage)
    .values({ userId, month: utcMonth(new Date()), kind: 'formal', used })
    .onConflictDoUpdate({ target: [quotaUsage.userId, quotaUsage.month, quotaUsage.kind], set: { used } });
}
