/**
 * Where the chunks of a resumable upload wait until the upload is complete: one file per declared
 * file, `<uploadDir>/.resumable/<uploadId>/<fileId>`, named by ids the platform made (never by the
 * client's paths), each chunk written at its own offset so chunks may arrive in any order and be
 * sent again. When the upload completes, the files are moved into a staging tree (same file system,
 * so nothing is copied).
 */
import { constants, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { DIR_MODE, FILE_MODE } from './stagingTree';
import { UploadRejected } from './uploadRejected';

export const RESUMABLE_DIR = '.resumable';

export function resumableUploadDir(uploadDir: string, uploadId: string): string {
  if (!/^[0-9a-f-]{36}$/i.test(uploadId)) throw new Error(`not a resumable upload id: ${uploadId}`);
  return path.join(uploadDir, RESUMABLE_DIR, uploadId);
}

export function resumableFilePath(uploadDir: string, uploadId: string, fileId: number): string {
  if (!Number.isSafeInteger(fileId) || fileId < 1) throw new Error(`not a resumable file id: ${fileId}`);
  return path.join(resumableUploadDir(uploadDir, uploadId), String(fileId));
}

export interface ChunkPlacement {
  /** Byte offset of the chunk in its file. */
  offset: number;
  /** Fewest and most bytes the chunk may have. */
  minBytes: number;
  maxBytes: number;
  /** The file's last chunk: the file ends where it ends. */
  last: boolean;
}

/**
 * Writes one chunk in place, refusing (413, without keeping more than the limit) a chunk longer
 * than its placement allows and (400) one shorter. Returns the bytes written.
 */
export async function writeChunk(
  file: string,
  placement: ChunkPlacement,
  content: AsyncIterable<Uint8Array>,
): Promise<number> {
  await mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
  // Positioned writes into the file, created on the first chunk to arrive (whichever it is).
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, FILE_MODE);
  let written = 0;
  try {
    for await (const piece of content) {
      if (written + piece.byteLength > placement.maxBytes) {
        throw new UploadRejected(
          413,
          `the chunk is longer than the ${placement.maxBytes.toLocaleString('en-US')} bytes declared for it`,
          'file',
        );
      }
      for (let at = 0; at < piece.byteLength;) {
        at += (await handle.write(piece, at, piece.byteLength - at, placement.offset + written + at)).bytesWritten;
      }
      written += piece.byteLength;
    }
    if (written < placement.minBytes) {
      throw new UploadRejected(
        400,
        `the chunk has ${written.toLocaleString('en-US')} bytes, fewer than the ${placement.minBytes.toLocaleString('en-US')} declared for it: the local file changed since the upload was declared`,
        'file',
      );
    }
    if (placement.last) await handle.truncate(placement.offset + written);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return written;
}

export async function removeResumableUpload(uploadDir: string, uploadId: string): Promise<void> {
  await rm(resumableUploadDir(uploadDir, uploadId), { recursive: true, force: true });
}
