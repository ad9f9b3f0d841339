/**
 * The storage layer on a real file system, without HTTP: a derived version shares unchanged files
 * with its base by hard link and replaces changed ones without touching the base, modes are the
 * platform's whatever the umask, links are followed only inside the tree, listing stays inside,
 * and staging left by a dead process is swept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveInside } from '../../storage/resolveInside';
import { StagingTree } from '../../storage/stagingTree';
import { STAGING_DIR, sweepStaging, versionDir } from '../../storage/uploadLayout';
import { listUploadEntries } from '../../storage/uploadListing';
import { UploadRejected } from '../../storage/uploadRejected';

const EVALUATION = '11111111-2222-4333-8444-555555555555';
const LIMITS = { maxBytes: 1024 * 1024, maxEntries: 100 };
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'proctor-staging-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const content = (text: string) => Readable.from([Buffer.from(text)]);

async function newUploadDir(): Promise<string> {
  return mkdtemp(path.join(scratch, 'uploads-'));
}

async function storedVersion(uploadDir: string, build: (tree: StagingTree) => Promise<void>): Promise<string> {
  const tree = await StagingTree.open(uploadDir, LIMITS);
  await build(tree);
  await tree.finish();
  return versionDir(uploadDir, await tree.publish(EVALUATION));
}

describe('StagingTree', () => {
  it('seeds from a version by hard link, and replaces a file without writing into the shared one', async () => {
    const uploadDir = await newUploadDir();
    const base = await storedVersion(uploadDir, async (tree) => {
      await tree.writeFile('model/info', content('old weights'));
      await tree.writeFile('meta.json', content('{}'));
      await tree.makeSymlink('model/current', 'info');
    });

    const tree = await StagingTree.open(uploadDir, LIMITS);
    await tree.seedFrom(base);
    expect(tree.totals).toEqual({ entries: 4, bytes: 'old weights'.length + 2 });
    expect((await stat(path.join(tree.dir, 'meta.json'))).ino).toBe((await stat(path.join(base, 'meta.json'))).ino);
    await tree.writeFile('model/info', content('new'));
    expect(tree.totals).toEqual({ entries: 4, bytes: 3 + 2 });
    expect(await tree.finish()).toEqual({ files: 2, bytes: 5, entries: 4 });
    const derived = versionDir(uploadDir, await tree.publish(EVALUATION));

    expect(await readFile(path.join(base, 'model/info'), 'utf8')).toBe('old weights');
    expect(await readFile(path.join(derived, 'model/info'), 'utf8')).toBe('new');
    expect(await readFile(path.join(derived, 'model/current'), 'utf8')).toBe('new');
    expect((await lstat(path.join(derived, 'model/current'))).isSymbolicLink()).toBe(true);
    expect(await readdir(path.join(uploadDir, STAGING_DIR))).toEqual([]);
  });

  it('writes the platform’s modes whatever the umask', async () => {
    const uploadDir = await newUploadDir();
    const previous = process.umask(0o077);
    try {
      const dir = await storedVersion(uploadDir, async (tree) => {
        await tree.writeFile('sub/plain.txt', content('x'));
        await tree.writeFile('sub/run.sh', content('#!/bin/sh'), { executable: true });
      });
      expect((await stat(dir)).mode & 0o777).toBe(0o755);
      expect((await stat(path.join(dir, 'sub'))).mode & 0o777).toBe(0o755);
      expect((await stat(path.join(dir, 'sub/plain.txt'))).mode & 0o777).toBe(0o644);
      expect((await stat(path.join(dir, 'sub/run.sh'))).mode & 0o777).toBe(0o755);
    } finally {
      process.umask(previous);
    }
  });

  it('refuses a link loop and a link that escapes through another, once the tree is complete', async () => {
    const uploadDir = await newUploadDir();
    const loop = await StagingTree.open(uploadDir, LIMITS);
    await loop.makeSymlink('a', 'b');
    await loop.makeSymlink('b', 'a');
    await expect(loop.finish()).rejects.toMatchObject({
      status: 400,
      detail: expect.stringMatching(/is part of a loop of links/),
    });
    await loop.discard();

    const escape = await StagingTree.open(uploadDir, LIMITS);
    await escape.makeSymlink('deep/here', '..');
    await escape.makeSymlink('deep/out', 'here/..');
    await expect(escape.finish()).rejects.toMatchObject({
      status: 400,
      detail: expect.stringMatching(/"deep\/out" leads outside the upload/),
    });
    await escape.discard();
    expect(await readdir(path.join(uploadDir, STAGING_DIR))).toEqual([]);
  });

  it('counts exactly against the limits: bytes as they arrive, entries including implied directories', async () => {
    const uploadDir = await newUploadDir();
    const tree = await StagingTree.open(uploadDir, { maxBytes: 10, maxEntries: 3 });
    await tree.writeFile('a/b', content('12345'));
    await expect(tree.writeFile('c', Readable.from([Buffer.from('123'), Buffer.from('456')]))).rejects.toMatchObject({
      status: 413,
    });
    await expect(tree.writeFile('d', content(''), { size: 11 })).rejects.toMatchObject({ status: 413 });
    await expect(tree.makeDir('e/f')).rejects.toBeInstanceOf(UploadRejected);
    await tree.discard();
    await tree.discard();
  });
});

describe('resolveInside', () => {
  it('follows links on disk and stops at the root', async () => {
    const root = await mkdtemp(path.join(scratch, 'resolve-'));
    await mkdir(path.join(root, 'real/deeper'), { recursive: true });
    await symlink('real/deeper', path.join(root, 'short'));
    await symlink('.', path.join(root, 'self'));
    expect(await resolveInside(root, 'short/../x')).toEqual({ inside: true, path: 'real/x' });
    expect(await resolveInside(root, 'self/self/real')).toEqual({ inside: true, path: 'real' });
    expect(await resolveInside(root, 'self/..')).toEqual({ inside: false, why: 'outside' });
    expect(await resolveInside(root, 'missing/../real')).toEqual({ inside: true, path: 'real' });
  });
});

describe('listUploadEntries', () => {
  it('lists a directory, a single file, nothing for a missing path or one leading outside', async () => {
    const root = await mkdtemp(path.join(scratch, 'list-'));
    await mkdir(path.join(root, 'model'));
    await writeFile(path.join(root, 'model/b.bin'), 'bb');
    await writeFile(path.join(root, 'model/a.bin'), 'a');
    await utimes(path.join(root, 'model/a.bin'), new Date('2025-05-05T00:00:00Z'), new Date('2025-05-05T00:00:00Z'));
    await symlink('..', path.join(root, 'model/up'));
    await symlink('../..', path.join(root, 'model/out'));
    expect((await listUploadEntries(root, 'model'))!.map((e) => `${e.type} ${e.path} ${e.size}`)).toEqual([
      'file model/a.bin 1',
      'file model/b.bin 2',
      'symlink model/out 0',
      'symlink model/up 0',
    ]);
    expect(await listUploadEntries(root, 'model/a.bin')).toEqual([
      { path: 'model/a.bin', type: 'file', size: 1, mtime: '2025-05-05T00:00:00.000Z' },
    ]);
    expect((await listUploadEntries(root, 'model/up'))!.map((e) => e.path)).toEqual(['model/up/model']);
    expect(await listUploadEntries(root, 'model/out')).toBeNull();
    expect(await listUploadEntries(root, 'nowhere')).toBeNull();
  });
});

describe('sweepStaging', () => {
  it('removes staging older than the cut-off and keeps younger ones', async () => {
    const uploadDir = await newUploadDir();
    const old = await StagingTree.open(uploadDir, LIMITS);
    const young = await StagingTree.open(uploadDir, LIMITS);
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(old.dir, longAgo, longAgo);
    expect(await sweepStaging(uploadDir, 24 * 3_600_000)).toEqual([old.id]);
    expect(await readdir(path.join(uploadDir, STAGING_DIR))).toEqual([young.id]);
    expect(await sweepStaging(await newUploadDir(), 0)).toEqual([]);
  });
});
