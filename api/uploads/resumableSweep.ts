/**
 * Ends resumable uploads nobody can finish (token expired or revoked, or idle longer than a
 * token lives) and removes the chunks they received: run by the API at start and every hour.
 */
import type { Db } from '../../db/client';
import { abandonStaleUploads } from '../../db/queries/resumableUploads';
import { removeResumableUpload } from '../../storage/resumableChunks';

export async function sweepResumableUploads(db: Db, uploadDir: string, now: Date, idleMs: number): Promise<number> {
  const abandoned = await abandonStaleUploads(db, now, idleMs);
  for (const id of abandoned) await removeResumableUpload(uploadDir, id);
  return abandoned.length;
}
