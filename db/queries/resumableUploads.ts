/**
 * Resumable uploads (the flageval-serving CLI's protocol): the files a client declared and which
 * of their chunks arrived whole. A token has at most one upload open at a time (a partial unique
 * index); declaring the same files again on the same base finds it, so an interrupted upload
 * resumes, and declaring different ones replaces it. The last chunk's request claims the upload
 * for building its version (`open` → `committing`, one winner), then records how it ended.
 */
import { and, asc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { resumableUploadFiles, resumableUploads, uploadTokens } from '../schema';

export type ResumableUploadRow = typeof resumableUploads.$inferSelect;
export type ResumableFileRow = typeof resumableUploadFiles.$inferSelect;

export interface DeclaredFile {
  path: string;
  sizeKb: number;
  chunks: number;
}

export interface Declaration {
  tokenId: string;
  evaluationId: string;
  baseVersion: number | null;
  manifestHash: string;
  chunkKb: number;
  files: DeclaredFile[];
}

const LIVE = ['open', 'committing'] as const;

/** The token's upload in progress, with its files in declared order; null when there is none. */
export async function liveResumableUpload(
  db: Db,
  tokenId: string,
): Promise<{ upload: ResumableUploadRow; files: ResumableFileRow[] } | null> {
  const [upload] = await db
    .select()
    .from(resumableUploads)
    .where(and(eq(resumableUploads.tokenId, tokenId), inArray(resumableUploads.state, [...LIVE])))
    .limit(1);
  if (!upload) return null;
  return { upload, files: await resumableFiles(db, upload.id) };
}

export async function resumableFiles(db: Db, uploadId: string): Promise<ResumableFileRow[]> {
  return db
    .select()
    .from(resumableUploadFiles)
    .where(eq(resumableUploadFiles.uploadId, uploadId))
    .orderBy(asc(resumableUploadFiles.position));
}

/**
 * The open upload for these files: the one already open when it declared the same files on the
 * same base (resumed), else a new one, replacing (failing) whatever the token had open.
 */
export async function declareResumableUpload(
  db: Db,
  declaration: Declaration,
): Promise<{ upload: ResumableUploadRow; files: ResumableFileRow[]; resumed: boolean; replaced: string | null }> {
  return db.transaction(async (tx) => {
    // Serialises declarations of one token (the token row is the lock).
    await tx
      .select({ id: uploadTokens.id })
      .from(uploadTokens)
      .where(eq(uploadTokens.id, declaration.tokenId))
      .for('update');
    const [live] = await tx
      .select()
      .from(resumableUploads)
      .where(and(eq(resumableUploads.tokenId, declaration.tokenId), inArray(resumableUploads.state, [...LIVE])))
      .limit(1);
    if (
      live &&
      live.state === 'open' &&
      live.manifestHash === declaration.manifestHash &&
      live.baseVersion === declaration.baseVersion
    ) {
      const files = await tx
        .select()
        .from(resumableUploadFiles)
        .where(eq(resumableUploadFiles.uploadId, live.id))
        .orderBy(asc(resumableUploadFiles.position));
      return { upload: live, files, resumed: true, replaced: null };
    }
    if (live) {
      await tx
        .update(resumableUploads)
        .set({ state: 'failed', failure: 'replaced by a later upload with other files', updatedAt: sql`now()` })
        .where(eq(resumableUploads.id, live.id));
    }
    const [upload] = await tx
      .insert(resumableUploads)
      .values({
        tokenId: declaration.tokenId,
        evaluationId: declaration.evaluationId,
        baseVersion: declaration.baseVersion,
        manifestHash: declaration.manifestHash,
        chunkKb: declaration.chunkKb,
      })
      .returning();
    const files: ResumableFileRow[] = [];
    const BATCH = 1_000;
    for (let start = 0; start < declaration.files.length; start += BATCH) {
      const batch = declaration.files.slice(start, start + BATCH);
      files.push(
        ...(await tx
          .insert(resumableUploadFiles)
          .values(batch.map((file, i) => ({ uploadId: upload!.id, position: start + i, ...file })))
          .returning()),
      );
    }
    files.sort((a, b) => a.position - b.position);
    return { upload: upload!, files, resumed: false, replaced: live?.id ?? null };
  });
}

/** A file of one of the token's uploads (of any state), with its upload; null when the token has no such file. */
export async function findResumableFile(
  db: Db,
  tokenId: string,
  fileId: number,
): Promise<{ upload: ResumableUploadRow; file: ResumableFileRow } | null> {
  const [row] = await db
    .select({ upload: resumableUploads, file: resumableUploadFiles })
    .from(resumableUploadFiles)
    .innerJoin(resumableUploads, eq(resumableUploads.id, resumableUploadFiles.uploadId))
    .where(and(eq(resumableUploadFiles.id, fileId), eq(resumableUploads.tokenId, tokenId)))
    .limit(1);
  return row ?? null;
}

/**
 * Records chunk `num` as received whole (once, however often it is sent), while the upload is open;
 * returns the file as it now stands, or null when the upload is no longer open.
 */
export async function markChunkReady(
  db: Db,
  uploadId: string,
  fileId: number,
  num: number,
): Promise<ResumableFileRow | null> {
  return db.transaction(async (tx) => {
    const [open] = await tx
      .update(resumableUploads)
      .set({ updatedAt: sql`now()` })
      .where(and(eq(resumableUploads.id, uploadId), eq(resumableUploads.state, 'open')))
      .returning({ id: resumableUploads.id });
    if (!open) return null;
    const [file] = await tx
      .update(resumableUploadFiles)
      .set({
        readyChunks: sql`case when ${num} = any(${resumableUploadFiles.readyChunks}) then ${resumableUploadFiles.readyChunks} else array_append(${resumableUploadFiles.readyChunks}, ${num}::integer) end`,
      })
      .where(eq(resumableUploadFiles.id, fileId))
      .returning();
    return file ?? null;
  });
}

/**
 * Claims the upload for building its version when every chunk of every file has arrived: exactly
 * one request wins, however many finish at once. Null when it is not complete or already claimed.
 */
export async function claimCompleteUpload(db: Db, uploadId: string): Promise<ResumableUploadRow | null> {
  const [row] = await db
    .update(resumableUploads)
    .set({ state: 'committing', updatedAt: sql`now()` })
    .where(
      and(
        eq(resumableUploads.id, uploadId),
        eq(resumableUploads.state, 'open'),
        sql`not exists (select 1 from ${resumableUploadFiles} where ${resumableUploadFiles.uploadId} = ${uploadId} and cardinality(${resumableUploadFiles.readyChunks}) < ${resumableUploadFiles.chunks})`,
      ),
    )
    .returning();
  return row ?? null;
}

export async function finishResumableUpload(
  db: Db,
  uploadId: string,
  outcome: { state: 'committed'; version: number } | { state: 'failed'; failure: string },
): Promise<void> {
  await db
    .update(resumableUploads)
    .set({
      state: outcome.state,
      version: outcome.state === 'committed' ? outcome.version : null,
      failure: outcome.state === 'failed' ? outcome.failure : null,
      updatedAt: sql`now()`,
    })
    .where(eq(resumableUploads.id, uploadId));
}

/**
 * Ends uploads nobody can finish any more (their token expired or was revoked) and those idle for
 * `idleMs` (a build interrupted by a crash stays `committing`); returns their ids, whose received
 * chunks the caller removes.
 */
export async function abandonStaleUploads(db: Db, now: Date, idleMs: number): Promise<string[]> {
  const idleSince = new Date(now.getTime() - idleMs);
  const stale = db
    .select({ id: resumableUploads.id })
    .from(resumableUploads)
    .innerJoin(uploadTokens, eq(uploadTokens.id, resumableUploads.tokenId))
    .where(
      and(
        inArray(resumableUploads.state, [...LIVE]),
        or(
          lt(resumableUploads.updatedAt, idleSince),
          lt(uploadTokens.expiresAt, now),
          sql`${uploadTokens.revokedAt} is not null`,
        ),
      ),
    );
  const rows = await db
    .update(resumableUploads)
    .set({
      state: 'failed',
      failure: 'abandoned: its token ended or nothing arrived for too long',
      updatedAt: sql`now()`,
    })
    .where(inArray(resumableUploads.id, stale))
    .returning({ id: resumableUploads.id });
  return rows.map((row) => row.id);
}
