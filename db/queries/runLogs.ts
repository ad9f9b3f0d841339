/** The run's log lines, as users read them on the log page. */
import { and, eq, like, max } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { runLogs } from '../schema';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunLogLine {
  runId: string;
  datasetId?: string | null;
  level: LogLevel;
  message: string;
  /** Lines written by retried activities carry a key so the retry does not write them twice. */
  dedupeKey?: string;
  /** When it happened, if not now (a container's own timestamp). */
  at?: Date;
}

export async function appendRunLogs(db: Db | Tx, lines: readonly RunLogLine[]): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insert(runLogs)
    .values(
      lines.map((l) => ({
        runId: l.runId,
        datasetId: l.datasetId ?? null,
        level: l.level,
        message: l.message,
        dedupeKey: l.dedupeKey ?? null,
        ...(l.at ? { at: l.at } : {}),
      })),
    )
    .onConflictDoNothing({ target: [runLogs.runId, runLogs.dedupeKey] });
}

/** When the latest of the run's lines whose dedupe key starts with `keyPrefix` happened; null when there is none. */
export async function lastLogAt(db: Db, runId: string, keyPrefix: string): Promise<Date | null> {
  const [last] = await db
    .select({ at: max(runLogs.at) })
    .from(runLogs)
    .where(and(eq(runLogs.runId, runId), like(runLogs.dedupeKey, `${keyPrefix}%`)));
  return last?.at ?? null;
}
