/**
 * The path rules of an upload, on names alone: entry names are normalised or refused, remote
 * paths treat a leading slash as the root, and a link may only point inside the tree.
 */
import { describe, expect, it } from 'vitest';
import { checkSymlinkTarget, entryPath, isInside, joinInside, remotePath } from '../../storage/uploadPaths';
import { UploadRejected } from '../../storage/uploadRejected';

function refusal(run: () => unknown): UploadRejected {
  try {
    run();
  } catch (error) {
    if (error instanceof UploadRejected) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('entryPath', () => {
  it.each([
    ['model/info', 'model/info'],
    ['./model/info', 'model/info'],
    ['model//info', 'model/info'],
    ['model/./info', 'model/info'],
    ['model/', 'model'],
    ['./', ''],
    ['.', ''],
    ['a..b/..c', 'a..b/..c'],
    ['with space/ünïcode', 'with space/ünïcode'],
  ])('%j is %j', (name, expected) => {
    expect(entryPath(name)).toBe(expected);
  });

  it.each([
    ['../x', /"\.\.\/x" has a "\.\." component/],
    ['model/../../x', /has a "\.\." component/],
    ['model/../x', /has a "\.\." component/],
    ['..', /has a "\.\." component/],
    ['/etc/passwd', /"\/etc\/passwd" is an absolute path/],
    ['//etc/passwd', /is an absolute path/],
    ['a\0b', /NUL byte/],
  ])('refuses %j', (name, detail) => {
    const error = refusal(() => entryPath(name));
    expect(error.status).toBe(400);
    expect(error.field).toBe('body');
    expect(error.detail).toMatch(detail);
  });

  it('shows control characters in a refused name as "?"', () => {
    expect(refusal(() => entryPath('../\u001b[2Jx')).detail).toBe(
      'archive entry "../?[2Jx" has a ".." component, which would reach outside the upload',
    );
  });
});

describe('remotePath', () => {
  it('takes a leading slash as the root of the upload', () => {
    expect(remotePath('/', 'to')).toBe('');
    expect(remotePath('', 'to')).toBe('');
    expect(remotePath('/remote/dir/', 'to')).toBe('remote/dir');
    expect(remotePath('remote/./dir', 'to')).toBe('remote/dir');
  });

  it('refuses ".." and names the field', () => {
    const error = refusal(() => remotePath('/remote/../..', 'to'));
    expect(error).toMatchObject({ status: 400, field: 'to' });
    expect(error.detail).toMatch(/^to must not have a "\.\." component/);
  });
});

describe('checkSymlinkTarget', () => {
  it('accepts relative targets that stay inside, dangling or not', () => {
    expect(() => checkSymlinkTarget('model/current', 'weights.bin')).not.toThrow();
    expect(() => checkSymlinkTarget('model/a', '../weights/a.bin')).not.toThrow();
    expect(() => checkSymlinkTarget('a/b/c', '../../x')).not.toThrow();
    expect(() => checkSymlinkTarget('here', '.')).not.toThrow();
  });

  it.each([
    ['passwd', '/etc/passwd', /points to the absolute path "\/etc\/passwd"/],
    ['up', '..', /outside the upload/],
    ['model/up', '../../x', /outside the upload/],
    ['a/b', '../c/../../..', /outside the upload/],
    ['empty', '', /empty target/],
  ])('refuses %j -> %j', (link, target, detail) => {
    expect(refusal(() => checkSymlinkTarget(link, target)).detail).toMatch(detail);
  });
});

describe('joinInside and isInside', () => {
  it('joins relative paths, the root being empty', () => {
    expect(joinInside('', 'a')).toBe('a');
    expect(joinInside('a', '')).toBe('a');
    expect(joinInside('a/b', 'c')).toBe('a/b/c');
  });

  it('tells whether an absolute path is the root or under it', () => {
    expect(isInside('/up/v1', '/up/v1')).toBe(true);
    expect(isInside('/up/v1', '/up/v1/model/x')).toBe(true);
    expect(isInside('/up/v1', '/up/v10')).toBe(false);
    expect(isInside('/up/v1', '/up')).toBe(false);
    expect(isInside('/up/v1', '/etc/passwd')).toBe(false);
  });
});
