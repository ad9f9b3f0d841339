/**
 * Files a run keeps beside its records (the Excel report), one per (run, kind). Storing again
 * replaces the copy, so a retried activity that rebuilds the file leaves exactly one.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { runArtifacts } from '../schema';
import { appendRunLogs, type RunLogLine } from './runLogs';

/**
 * Stores the file and, in the same transaction, the log line that announces it: whoever sees the
 * file sees its line too (a reader waiting for the report once read the log a moment too early).
 */
export async function storeRunArtifact(
  db: Db,
  runId: string,
  artifact: { kind: string; contentType: string },
  content: Buffer,
  announce?: Omit<RunLogLine, 'runId'>,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(runArtifacts)
      .values({ runId, kind: artifact.kind, contentType: artifact.contentType, content })
      .onConflictDoUpdate({
        target: [runArtifacts.runId, runArtifacts.kind],
        set: { contentType: artifact.contentType, content, createdAt: sql`now()` },
      });
    if (announce) await appendRunLogs(tx, [{ ...announce, runId }]);
  });
}

export async function getRunArtifact(db: Db, runId: string, kind: string) {
  const [row] = await db
    .select({ contentType: runArtifacts.contentType, content: runArtifacts.content })
    .from(runArtifacts)
    .where(and(eq(runArtifacts.runId, runId), eq(runArtifacts.kind, kind)));
  return row ?? null;
}
