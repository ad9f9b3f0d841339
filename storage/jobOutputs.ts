/**
 * Reading what a container job left in its output directory. The job is untrusted: a file may be
 * a symbolic link to anywhere on the host, a gigabyte of nonsense, or not the JSON it should be.
 * Each read follows links only while they stay inside the directory (resolveInside.ts), refuses
 * anything that is not a regular file or is larger than its cap, and says in words what was
 * expected, so a failed dataset tells the image's author what to fix.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { resolveInside } from './resolveInside';

/** Enough for any metrics file; a caller reading larger outputs passes its own cap. */
export const DEFAULT_OUTPUT_MAX_BYTES = 1 * 2 ** 20;

export type JobOutputProblem = 'missing' | 'outside' | 'not_a_file' | 'too_large' | 'malformed';

export class JobOutputError extends Error {
  override name = 'JobOutputError';

  constructor(
    readonly problem: JobOutputProblem,
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export interface JobOutputReadOptions {
  maxBytes?: number;
}

/** The bytes of `rel` (relative to the output directory `root`). */
export async function readJobOutput(root: string, rel: string, o: JobOutputReadOptions = {}): Promise<Buffer> {
  const maxBytes = o.maxBytes ?? DEFAULT_OUTPUT_MAX_BYTES;
  const shown = JSON.stringify(rel);
  if (path.isAbsolute(rel))
    throw new JobOutputError('outside', rel, `${shown} must be a path relative to the job's output directory`);
  const where = await resolveInside(root, rel);
  if (!where.inside)
    throw new JobOutputError(
      'outside',
      rel,
      where.why === 'loop'
        ? `${shown} in the job's output directory is a loop of symbolic links; expected a regular file`
        : `${shown} leads outside the job's output directory (a symbolic link or '..' escapes it); expected a regular file inside it`,
    );
  let handle;
  try {
    // The final component is no link after resolution; O_NOFOLLOW holds that even if one appeared since.
    handle = await open(path.join(root, where.path), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new JobOutputError(
        'missing',
        rel,
        `the job wrote no ${shown} in its output directory; expected a file there`,
      );
    if (code === 'ELOOP')
      throw new JobOutputError('not_a_file', rel, `${shown} is a symbolic link; expected a regular file`);
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new JobOutputError('not_a_file', rel, `${shown} in the job's output directory is not a regular file`);
    if (stat.size > maxBytes)
      throw new JobOutputError(
        'too_large',
        rel,
        `${shown} is ${stat.size} bytes, more than the ${maxBytes} bytes allowed for it`,
      );
    // Read one byte past the cap: a file that grew since the stat is refused rather than cut.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes)
      throw new JobOutputError('too_large', rel, `${shown} is more than the ${maxBytes} bytes allowed for it`);
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** `rel` parsed as JSON; a file that is not valid UTF-8 JSON is refused with the parser's reason. */
export async function readJobOutputJson(root: string, rel: string, o: JobOutputReadOptions = {}): Promise<unknown> {
  const bytes = await readJobOutput(root, rel, o);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new JobOutputError('malformed', rel, `${JSON.stringify(rel)} is not UTF-8 text; expected a JSON document`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new JobOutputError(
      'malformed',
      rel,
      `${JSON.stringify(rel)} is not valid JSON (${(error as Error).message}); expected a JSON document`,
    );
  }
}
