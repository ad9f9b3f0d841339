/**
 * Reading an upload's small files for the layout checks (uploadCheck.ts, backboneUploadCheck.ts):
 * a missing, wrong-kind or oversized file becomes a problem of the report rather than an error.
 */
import { open, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { UploadCheckProblem } from '../contracts/upload';

/** meta.json and the Python files are small; reading more than this of them means something is wrong. */
const MAX_TEXT_BYTES = 1024 * 1024;

/**
 * The text of a required regular file, or null with the problem recorded: missing, not a file,
 * too large to be what it should be, or unreadable.
 */
export async function readTextFile(
  dir: string,
  file: string,
  problems: UploadCheckProblem[],
  purpose: string,
): Promise<string | null> {
  const info = await statOrNull(path.join(dir, file));
  if (!info) {
    problems.push({
      path: file,
      rule: 'required',
      message: `${file} is required at the top of the upload: ${purpose}`,
    });
    return null;
  }
  if (!info.isFile()) {
    problems.push({ path: file, rule: 'file', message: `${file} must be a regular file (${purpose})` });
    return null;
  }
  if (info.size > MAX_TEXT_BYTES) {
    problems.push({
      path: file,
      rule: 'size',
      message: `${file} is ${info.size.toLocaleString('en-US')} bytes; it should be a small text file (at most 1 MiB)`,
    });
    return null;
  }
  const handle = await open(path.join(dir, file), 'r');
  try {
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

export async function statOrNull(target: string): Promise<Stats | null> {
  try {
    return await stat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A dangling link or a path through a file is as good as missing.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw error;
  }
}
