/**
 * The models a run's answers said they came from (run_model_identities): recorded by each inference
 * batch, and read by the run view as warnings. A pair new to the run, after a first one, is a model
 * changing under the run: one warning line in the run's logs per new pair, written in the
 * transaction that records it. Batches of one run record under a lock on the run's row, so two
 * batches seeing a change at once still write exactly one line, after the right predecessor.
 */
import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { runModelIdentities, runs } from '../schema';
import { appendRunLogs } from './runLogs';
import type { RunWarning } from '../../contracts/tokens';

export interface SeenIdentity {
  model: string | null;
  systemFingerprint: string | null;
  firstSeenAt: Date;
}

const key = (model: string, fingerprint: string) => `${model}\u0000${fingerprint}`;

export async function recordModelIdentities(
  db: Db,
  runId: string,
  datasetId: string,
  seen: readonly SeenIdentity[],
): Promise<void> {
  if (seen.length === 0) return;
  const known = await db
    .select({ model: runModelIdentities.model, systemFingerprint: runModelIdentities.systemFingerprint })
    .from(runModelIdentities)
    .where(eq(runModelIdentities.runId, runId));
  const knownKeys = new Set(known.map((k) => key(k.model, k.systemFingerprint)));
  const fresh = seen
    .filter((s) => !knownKeys.has(key(s.model ?? '', s.systemFingerprint ?? '')))
    .sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime());
  if (fresh.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.execute(sql`select 1 from ${runs} where ${runs.id} = ${runId} for update`);
    const [last] = await tx
      .select({ model: runModelIdentities.model, systemFingerprint: runModelIdentities.systemFingerprint })
      .from(runModelIdentities)
      .where(eq(runModelIdentities.runId, runId))
      .orderBy(sql`${runModelIdentities.seq} desc`)
      .limit(1);
    let previous = last ?? null;
    for (const s of fresh) {
      const model = s.model ?? '';
      const systemFingerprint = s.systemFingerprint ?? '';
      const inserted = await tx
        .insert(runModelIdentities)
        .values({ runId, model, systemFingerprint, datasetId, firstSeenAt: s.firstSeenAt })
        .onConflictDoNothing()
        .returning({ model: runModelIdentities.model });
      if (inserted.length === 0) continue;
      if (previous) {
        await appendRunLogs(tx, [
          {
            runId,
            datasetId,
            level: 'warn',
            message: changeMessage(previous, { model, systemFingerprint }),
            dedupeKey: `model-changed:${JSON.stringify([model, systemFingerprint])}`,
          },
        ]);
      }
      previous = { model, systemFingerprint };
    }
  });
}

function describe(i: { model: string; systemFingerprint: string }): string {
  return `${i.model === '' ? 'no model name' : JSON.stringify(i.model)}, system_fingerprint ${
    i.systemFingerprint === '' ? 'none' : JSON.stringify(i.systemFingerprint)
  }`;
}

function changeMessage(
  before: { model: string; systemFingerprint: string },
  after: { model: string; systemFingerprint: string },
): string {
  return (
    `the model answering changed under the run: answers now say ${describe(after)}; earlier ones said ${describe(before)}. ` +
    'Scores from before and after may not be comparable.'
  );
}

/** The run's model changes, oldest first: every pair after the first, with the one before it. */
export async function modelChangeWarnings(db: Db, runId: string): Promise<RunWarning[]> {
  const rows = await db
    .select()
    .from(runModelIdentities)
    .where(eq(runModelIdentities.runId, runId))
    .orderBy(asc(runModelIdentities.seq));
  const orNull = (s: string) => (s === '' ? null : s);
  return rows.slice(1).map((r, i) => {
    const before = rows[i]!;
    return {
      kind: 'model-changed' as const,
      at: r.firstSeenAt.toISOString(),
      message: changeMessage(before, r),
      model: orNull(r.model),
      systemFingerprint: orNull(r.systemFingerprint),
      previousModel: orNull(before.model),
      previousSystemFingerprint: orNull(before.systemFingerprint),
    };
  });
}
