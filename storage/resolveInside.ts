/**
 * Following symbolic links inside a tree without ever leaving it. A link's target may be harmless
 * by its name (`s/..`) and still escape once another link is followed (`s -> .`), so the real
 * resolution walks the tree on disk, component by component, like realpath but bounded by the
 * root and tolerant of a missing tail.
 */
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';

/** Links followed in one resolution before it counts as a loop (the kernel's own limit). */
const MAX_HOPS = 40;

export type Resolution = { inside: true; path: string } | { inside: false; why: 'outside' | 'loop' };

/**
 * Where `rel` (relative to `root`) really leads: a path relative to the root, or why it leaves the
 * tree. Components that do not exist are taken by name, so a dangling link is judged by what it
 * would reach if its target were created.
 */
export async function resolveInside(root: string, rel: string): Promise<Resolution> {
  const pending = split(rel);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      if (resolved.length === 0) return { inside: false, why: 'outside' };
      resolved.pop();
      continue;
    }
    const here = path.join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(here)).isSymbolicLink();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ENAMETOOLONG') throw error;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_HOPS) return { inside: false, why: 'loop' };
    const target = await readlink(here);
    if (target.startsWith('/')) return { inside: false, why: 'outside' };
    // The target is relative to the link's directory, which is `resolved` as it stands.
    pending.unshift(...split(target));
  }
  return { inside: true, path: resolved.join('/') };
}

function split(rel: string): string[] {
  return rel.split('/').filter((part) => part !== '' && part !== '.');
}
