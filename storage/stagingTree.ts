/**
 * A version being built, in a staging directory of its own: seeded from the version it is derived
 * from (hard links: files are never modified in place, so sharing them is safe), then written
 * entry by entry, then either published (renamed to its final place) or discarded. Every write
 * keeps the limits (bytes and entries, counted exactly as the tree changes) and the tree's
 * boundary: nothing is written through a symbolic link or outside the root, and every mode is the
 * platform's (0644 files, 0755 directories and executables) whatever the archive says.
 */
import { randomUUID } from 'node:crypto';
import {
  chmod,
  copyFile,
  constants,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  utimes,
} from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { resolveInside } from './resolveInside';
import { stagingRoot, storagePathFor, versionDir } from './uploadLayout';
import { checkSymlinkTarget, isInside, joinInside, printable } from './uploadPaths';
import { UploadRejected } from './uploadRejected';

export interface UploadLimits {
  /** Largest total size of the regular files of one version. */
  maxBytes: number;
  /** Largest number of files, directories and links in one version (the root not counted). */
  maxEntries: number;
}

export const FILE_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;
export const DIR_MODE = 0o755;

/** Hard links cannot be made across file systems or on some mounts; those files are copied. */
const COPY_INSTEAD_OF_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);
const SEED_CONCURRENCY = 16;

export interface TreeTotals {
  /** Regular files. */
  files: number;
  bytes: number;
  /** Files, directories and links. */
  entries: number;
}

export class StagingTree {
  private entries = 0;
  private bytes = 0;
  /** Paths known to be real directories of this tree (never links), so each is checked once. */
  private readonly dirs = new Set<string>(['']);
  private state: 'open' | 'published' | 'discarded' = 'open';

  private constructor(
    private readonly uploadDir: string,
    readonly id: string,
    readonly dir: string,
    private readonly limits: UploadLimits,
  ) {}

  static async open(uploadDir: string, limits: UploadLimits): Promise<StagingTree> {
    const id = randomUUID();
    const dir = path.join(stagingRoot(uploadDir), id);
    await mkdir(stagingRoot(uploadDir), { recursive: true, mode: DIR_MODE });
    await mkdir(dir, { mode: DIR_MODE });
    await chmod(dir, DIR_MODE);
    return new StagingTree(uploadDir, id, dir, limits);
  }

  get totals(): { bytes: number; entries: number } {
    return { bytes: this.bytes, entries: this.entries };
  }

  /** Makes this tree a copy of a stored version, sharing its files by hard link. */
  async seedFrom(baseDir: string): Promise<void> {
    const pending = [''];
    while (pending.length > 0) {
      const rel = pending.pop()!;
      const children = await readdir(path.join(baseDir, rel), { withFileTypes: true });
      await inBatches(children, SEED_CONCURRENCY, async (child) => {
        const childRel = joinInside(rel, child.name);
        const from = path.join(baseDir, childRel);
        const to = this.abs(childRel);
        if (child.isDirectory()) {
          await mkdir(to, { mode: DIR_MODE });
          await chmod(to, DIR_MODE);
          this.dirs.add(childRel);
          pending.push(childRel);
        } else if (child.isSymbolicLink()) {
          await symlink(await readlink(from), to);
        } else if (child.isFile()) {
          this.bytes += await linkOrCopy(from, to);
        } else {
          return; // a stored version holds nothing else
        }
        this.entries += 1;
      });
    }
    if (this.entries > this.limits.maxEntries) throw tooManyEntries(this.limits.maxEntries);
    if (this.bytes > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
  }

  async makeDir(rel: string): Promise<void> {
    await this.ensureDir(rel, rel);
  }

  /**
   * Writes a new file at `rel` from `content`, replacing a file or link there (never a directory).
   * A declared `size` that alone passes the limit is refused before any content is read.
   */
  async writeFile(
    rel: string,
    content: AsyncIterable<Uint8Array>,
    options: { size?: number; executable?: boolean; mtime?: Date } = {},
  ): Promise<void> {
    await this.prepareLeaf(rel);
    if (options.size !== undefined && this.bytes + options.size > this.limits.maxBytes)
      throw tooLarge(this.limits.maxBytes);
    const target = this.abs(rel);
    const mode = options.executable ? EXECUTABLE_MODE : FILE_MODE;
    this.countEntry();
    // 'wx': a new inode every time, so a file shared by hard link with another version is never written.
    const handle = await open(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    try {
      for await (const chunk of content) {
        this.bytes += chunk.byteLength;
        if (this.bytes > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
        for (let offset = 0; offset < chunk.byteLength;) {
          offset += (await handle.write(chunk, offset, chunk.byteLength - offset)).bytesWritten;
        }
      }
    } finally {
      await handle.close();
    }
    await chmod(target, mode);
    if (options.mtime && Number.isFinite(options.mtime.getTime())) await utimes(target, options.mtime, options.mtime);
  }

  /**
   * Moves a finished file (on the same file system, outside any version) into the tree at `rel`,
   * replacing a file or link there (never a directory), counted like a written file.
   */
  async moveFileIn(rel: string, from: string, options: { executable?: boolean } = {}): Promise<void> {
    await this.prepareLeaf(rel);
    const size = (await lstat(from)).size;
    if (this.bytes + size > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
    this.countEntry();
    const target = this.abs(rel);
    await rename(from, target);
    this.bytes += size;
    await chmod(target, options.executable ? EXECUTABLE_MODE : FILE_MODE);
  }

  /** Removes the file, link or directory (with everything under it) at `rel`; never through a link. */
  async removePath(rel: string): Promise<void> {
    if (rel === '') throw new UploadRejected(400, 'the root of the upload cannot be removed', 'src_path');
    const parts = rel.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join('/');
      const info = await lstatOrNull(this.abs(parent));
      if (!info) throw new UploadRejected(404, `"${printable(rel)}" does not exist in the upload`, 'src_path');
      if (!info.isDirectory())
        throw new UploadRejected(
          409,
          `"${printable(parent)}" is ${kindOf(info)} in the upload, not a directory`,
          'src_path',
        );
    }
    const target = this.abs(rel);
    if (!(await lstatOrNull(target)))
      throw new UploadRejected(404, `"${printable(rel)}" does not exist in the upload`, 'src_path');
    await rm(target, { recursive: true, force: true });
    for (const dir of [...this.dirs]) if (dir === rel || dir.startsWith(`${rel}/`)) this.dirs.delete(dir);
  }

  /** A relative link that points inside the tree by its name; links through links are judged by `finish`. */
  async makeSymlink(rel: string, target: string): Promise<void> {
    checkSymlinkTarget(rel, target);
    await this.prepareLeaf(rel);
    this.countEntry();
    await symlink(target, this.abs(rel));
  }

  /**
   * Once every entry is written: each link must really resolve inside the tree (following other
   * links on disk), and the totals are counted from the disk itself.
   */
  async finish(): Promise<TreeTotals> {
    const totals: TreeTotals = { files: 0, bytes: 0, entries: 0 };
    const pending = [''];
    while (pending.length > 0) {
      const rel = pending.pop()!;
      for (const child of await readdir(this.abs(rel), { withFileTypes: true })) {
        const childRel = joinInside(rel, child.name);
        totals.entries += 1;
        if (child.isDirectory()) pending.push(childRel);
        else if (child.isFile()) {
          totals.files += 1;
          totals.bytes += (await lstat(this.abs(childRel))).size;
        } else if (child.isSymbolicLink()) {
          const resolution = await resolveInside(this.dir, childRel);
          if (!resolution.inside) {
            throw new UploadRejected(
              400,
              resolution.why === 'loop'
                ? `symbolic link "${printable(childRel)}" is part of a loop of links`
                : `symbolic link "${printable(childRel)}" leads outside the upload once the links it passes through are followed`,
              'body',
            );
          }
        }
      }
    }
    if (totals.entries > this.limits.maxEntries) throw tooManyEntries(this.limits.maxEntries);
    if (totals.bytes > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
    return totals;
  }

  /** Moves the tree to its final place; returns the storage path to record. */
  async publish(evaluationId: string): Promise<string> {
    if (this.state !== 'open') throw new Error(`staging tree ${this.id} is ${this.state}`);
    const storagePath = storagePathFor(evaluationId, this.id);
    const finalDir = versionDir(this.uploadDir, storagePath);
    await mkdir(path.dirname(finalDir), { recursive: true, mode: DIR_MODE });
    await rename(this.dir, finalDir);
    this.state = 'published';
    return storagePath;
  }

  /** Removes what was received unless it was published; safe to call more than once. */
  async discard(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'discarded';
    await rm(this.dir, { recursive: true, force: true });
  }

  private abs(rel: string): string {
    const target = path.join(this.dir, rel);
    if (!isInside(this.dir, target)) throw new UploadRejected(400, `"${printable(rel)}" leaves the upload`, 'body');
    return target;
  }

  private countEntry(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) throw tooManyEntries(this.limits.maxEntries);
  }

  /** `rel` as a real directory of the tree, created with its parents if missing. */
  private async ensureDir(rel: string, wanted: string): Promise<void> {
    if (this.dirs.has(rel)) return;
    await this.ensureDir(parentOf(rel), wanted);
    const target = this.abs(rel);
    const info = await lstatOrNull(target);
    if (!info) {
      this.countEntry();
      await mkdir(target, { mode: DIR_MODE });
      await chmod(target, DIR_MODE);
    } else if (!info.isDirectory()) {
      const what = rel === wanted ? `cannot become a directory` : `cannot hold "${printable(wanted)}"`;
      throw new UploadRejected(409, `"${printable(rel)}" is ${kindOf(info)} in the upload, so it ${what}`, 'body');
    }
    this.dirs.add(rel);
  }

  /** Makes room for a file or link at `rel`: its parents exist, and a file or link there is removed. */
  private async prepareLeaf(rel: string): Promise<void> {
    if (rel === '')
      throw new UploadRejected(409, 'the root of the upload is a directory; a file cannot replace it', 'body');
    await this.ensureDir(parentOf(rel), rel);
    const target = this.abs(rel);
    const info = await lstatOrNull(target);
    if (!info) return;
    if (info.isDirectory()) {
      throw new UploadRejected(
        409,
        `"${printable(rel)}" is a directory in the upload; a file or link cannot replace it`,
        'body',
      );
    }
    await rm(target);
    this.entries -= 1;
    if (info.isFile()) this.bytes -= info.size;
  }
}

async function linkOrCopy(from: string, to: string): Promise<number> {
  const info = await lstat(from);
  try {
    await link(from, to);
  } catch (error) {
    if (!COPY_INSTEAD_OF_LINK.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await chmod(to, info.mode & 0o111 ? EXECUTABLE_MODE : FILE_MODE);
  }
  return info.size;
}

async function inBatches<T>(items: T[], size: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

async function lstatOrNull(target: string): Promise<Stats | null> {
  try {
    return await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

function kindOf(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFile()) return 'a file';
  return 'not a directory';
}

function tooLarge(maxBytes: number): UploadRejected {
  return new UploadRejected(413, `the upload is larger than the limit of ${formatBytes(maxBytes)} for one version`);
}

function tooManyEntries(maxEntries: number): UploadRejected {
  return new UploadRejected(
    413,
    `the upload has more than ${maxEntries.toLocaleString('en-US')} files, directories and links, the limit for one version`,
  );
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${bytes.toLocaleString('en-US')} bytes`
    : `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ${units[unit]}`;
}
