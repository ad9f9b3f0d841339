/**
 * The path rules of an upload, decided on names alone (no file system): what a tar entry or a
 * remote path may be called, and where a symbolic link may point. An upload is a tree of its own;
 * nothing in it may name or reach anything outside it. Paths here are relative to the tree's root,
 * '/'-separated, with no leading slash; '' is the root itself.
 */
import path from 'node:path';
import { UploadRejected } from './uploadRejected';

/**
 * A tar entry's name as a path inside the tree. `./` prefixes, doubled and trailing slashes are
 * dropped; an absolute name, a `..` component, a NUL byte or an empty name is refused, because
 * each of them either escapes the tree or cannot be stored under the name the archive gives.
 */
export function entryPath(name: string): string {
  if (name.includes('\0')) throw invalidName(name, 'contains a NUL byte');
  if (name.startsWith('/'))
    throw invalidName(name, 'is an absolute path; archive the directory’s contents with relative names');
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw invalidName(name, 'has a ".." component, which would reach outside the upload');
  return parts.join('/');
}

/**
 * A path the user names on the platform side (`cp … /remote`, `ls /remote`, `?path=`): a leading
 * slash means the version's root, as the CLI's remote paths are written; `..` is refused.
 */
export function remotePath(raw: string, field: string): string {
  if (raw.includes('\0')) throw new UploadRejected(400, `${field} must not contain a NUL byte`, field);
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..'))
    throw new UploadRejected(400, `${field} must not have a ".." component; paths are inside the upload`, field);
  return parts.join('/');
}

/** `under` and `rel` joined, both already safe relative paths. */
export function joinInside(under: string, rel: string): string {
  if (under === '') return rel;
  if (rel === '') return under;
  return `${under}/${rel}`;
}

/**
 * A symbolic link at `linkPath` pointing to `target` may only point inside the tree, judged on the
 * names: a relative target that stays under the root after `..` is applied. (Links through other
 * links are judged once the whole tree is on disk; see staging's link check.)
 */
export function checkSymlinkTarget(linkPath: string, target: string): void {
  if (target === '') throw new UploadRejected(400, `symbolic link "${linkPath}" has an empty target`, 'body');
  if (target.includes('\0'))
    throw new UploadRejected(400, `symbolic link "${linkPath}" has a target with a NUL byte`, 'body');
  if (target.startsWith('/')) {
    throw new UploadRejected(
      400,
      `symbolic link "${linkPath}" points to the absolute path "${target}"; links must be relative and stay inside the upload`,
      'body',
    );
  }
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new UploadRejected(
      400,
      `symbolic link "${linkPath}" points to "${target}", which is outside the upload`,
      'body',
    );
  }
}

/** Whether `candidate` (absolute) is `root` or inside it: the last guard before touching the disk. */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function invalidName(name: string, why: string): UploadRejected {
  return new UploadRejected(400, `archive entry "${printable(name)}" ${why}`, 'body');
}

/** Names from an archive are shown to people: keep them short and free of control characters. */
export function printable(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
