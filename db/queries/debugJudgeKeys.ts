/**
 * A judge key sent with a scoring debug call (not stored in any configuration) reaches the judge
 * worker the way stored keys do: sealed into a judge_keys row of the evaluation, named by its id,
 * so it never enters a workflow's history. The row lives only as long as the call.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../client';
import { judgeKeys } from '../schema';
import { sealSecret } from '../secretBox';

export async function sealCallJudgeKey(
  db: Db,
  evaluationId: string,
  apiKey: string,
  secretKey: Buffer,
): Promise<string> {
  const [row] = await db
    .insert(judgeKeys)
    .values({ evaluationId, cipher: sealSecret(secretKey, apiKey) })
    .returning({ id: judgeKeys.id });
  return row!.id;
}

/** Only ever called with an id sealCallJudgeKey returned: no configuration or run refers to that row. */
export async function dropCallJudgeKey(db: Db, keyId: string): Promise<void> {
  await db.delete(judgeKeys).where(eq(judgeKeys.id, keyId));
}
