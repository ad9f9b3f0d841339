/**
 * Builds the run's Excel report and keeps it with the run. The workbook is streamed to a temporary
 * file rather than to memory, and stored with an upsert on (run, kind) so a retried activity simply
 * replaces the copy an earlier attempt may have left.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../../db/client';
import { storeRunArtifact } from '../../db/queries/runArtifacts';
import { writeRunReport } from './excelReport';
import { REPORT_ARTIFACT } from '../../contracts/artifact';

export { REPORT_ARTIFACT };

export async function buildAndStoreRunReport(
  db: Db,
  runId: string,
  heartbeat?: (rows: number) => void,
): Promise<{ bytes: number; rows: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-report-'));
  try {
    const file = path.join(dir, `${runId}.xlsx`);
    const output = createWriteStream(file);
    let rows: number;
    try {
      ({ rows } = await writeRunReport(db, runId, output, heartbeat));
    } finally {
      // Release the file descriptor whether or not the report was finished.
      if (!output.closed) {
        output.destroy();
        await once(output, 'close');
      }
    }
    const content = await readFile(file);
    await storeRunArtifact(db, runId, REPORT_ARTIFACT, content, {
      level: 'info',
      message: `report written: ${rows} sample row(s), ${content.length} bytes`,
      dedupeKey: 'report',
    });
    return { bytes: content.length, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
