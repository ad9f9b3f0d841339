/**
 * Copies a container's output (a model server's, or a container job's) into the run's logs. Each collection resumes from the last
 * line already copied (by the container's own timestamps) and keys every line, so collecting twice,
 * or again after a crash, never writes a line twice.
 */
import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import type { Db } from '../../db/client';
import { appendRunLogs, lastLogAt, type RunLogLine } from '../../db/queries/runLogs';
import { containerLogs } from '../../docker/containerRunner';

/** A chatty model must not drown the run's log page; what is left out is said. */
const MAX_LINES_PER_COLLECTION = 2_000;

export async function collectContainerLogs(
  db: Db,
  docker: Dockerode,
  runId: string,
  containerId: string,
  /** Names the container in each line: `model`, or `job <key>` for a container job. */
  source = 'model',
  /** Text cut out of every line before it is stored (a job's proxy token). */
  secrets: readonly string[] = [],
): Promise<number> {
  const tag = `ctr:${containerId.slice(0, 12)}:`;
  const last = await lastLogAt(db, runId, tag);
  const sinceSeconds = last ? Math.floor(last.getTime() / 1000) : undefined;
  const lines = await containerLogs(docker, containerId, { sinceSeconds });
  const kept = lines.slice(-MAX_LINES_PER_COLLECTION);
  const rows: RunLogLine[] = kept.map((l) => ({
    runId,
    level: 'info',
    message: `[${source} ${l.stream}] ${redact(l.line, secrets)}`,
    at: new Date(l.timestamp),
    dedupeKey: `${tag}${l.timestamp}:${createHash('sha1').update(l.stream).update(l.line).digest('hex').slice(0, 12)}`,
  }));
  if (lines.length > kept.length) {
    rows.unshift({
      runId,
      level: 'warn',
      message: `[${source}] ${lines.length - kept.length} earlier container log line(s) left out`,
      dedupeKey: `${tag}skipped:${kept[0]?.timestamp ?? ''}`,
    });
  }
  await appendRunLogs(db, rows);
  return rows.length;
}

/** The line with every secret replaced, as error messages cut out API keys. */
export function redact(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}
