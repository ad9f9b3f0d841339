/**
 * Uploads through the real API: a demo tree becomes version 1 with a passing check, a bad tree's
 * report names every problem, cp of a file and of a directory make derived versions while the
 * older ones stay as they were on disk, ls and the owner's views show them, and every unsafe or
 * broken archive is refused with nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { uploadVersions } from '../../db/schema';
import { getUploadVersion } from '../../db/queries/uploads';
import { startApi, type TestApi } from '../support/apiServer';
import {
  createPrivateEvaluation,
  demoEntries,
  issueToken,
  listTree,
  storedTree,
  platformImage,
  tarOf,
  uploadHeaders,
  useFreshUploadDir,
  type TarEntry,
} from './uploadFixtures';

let api: TestApi;
let uploadDir: string;
let owner: { id: string; apiKey: string };
let imageId: string;

beforeAll(async () => {
  uploadDir = useFreshUploadDir();
  api = await startApi();
  owner = await api.createUser('user');
  imageId = await platformImage(api);
});

afterAll(async () => {
  await api?.close();
});

async function freshToken(): Promise<{ evaluationId: string; token: string }> {
  const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
  return { evaluationId, token: await issueToken(api, owner.apiKey, evaluationId) };
}

async function upload(token: string, entries: TarEntry[] | Buffer) {
  const body = Buffer.isBuffer(entries) ? entries : await tarOf(entries);
  const res = await fetch(`${api.url}/v1/upload`, { method: 'PUT', headers: uploadHeaders(token), body });
  return { status: res.status, body: (await res.json()) as any };
}

async function cpTar(token: string, to: string, entries: TarEntry[]) {
  const res = await fetch(`${api.url}/v1/upload/cp?to=${encodeURIComponent(to)}`, {
    method: 'POST',
    headers: uploadHeaders(token),
    body: await tarOf(entries),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function ls(token: string, remote = '/') {
  const res = await fetch(`${api.url}/v1/upload/ls?path=${encodeURIComponent(remote)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function versionDir(evaluationId: string, version: number): Promise<string> {
  const row = await getUploadVersion(api.deps.db, evaluationId, version);
  if (!row) throw new Error(`no version ${version} of ${evaluationId}`);
  return path.join(uploadDir, row.storagePath);
}

describe('PUT /v1/upload', () => {
  it('stores the demo tree as version 1 with a passing check, files 0644 and dirs 0755 whatever the tar said', async () => {
    const { evaluationId, token } = await freshToken();
    const entries = demoEntries().map((e) =>
      e.name === 'service.py' ? { ...e, mode: 0o600 } : e.name === 'model/' ? { ...e, mode: 0o700 } : e,
    );
    entries.push({ name: 'run.sh', content: '#!/bin/sh\n', mode: 0o700 });
    const res = await upload(token, entries);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      evaluationId,
      version: 1,
      kind: 'upload',
      derivedFrom: null,
      files: 5,
      check: { ok: true, domain: 'nlp', problems: [], parameterScaleBillion: 7, maxGpus: 1 },
    });
    const dir = await versionDir(evaluationId, 1);
    expect(await readFile(path.join(dir, 'meta.json'), 'utf8')).toBe('{"parameter_scale_billion": 7}\n');
    expect((await stat(path.join(dir, 'service.py'))).mode & 0o777).toBe(0o644);
    expect((await stat(path.join(dir, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(dir, 'model'))).mode & 0o777).toBe(0o755);
    expect(path.relative(uploadDir, dir).startsWith(`${evaluationId}/`)).toBe(true);

    // The owner sees the version, the same as the upload answered, and its files.
    const versions = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: owner.apiKey });
    expect(versions.status).toBe(200);
    expect(versions.body).toEqual([res.body]);
    const one = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads/1`, { key: owner.apiKey });
    expect(one.body).toEqual(res.body);
    const files = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads/1/files?path=model`, {
      key: owner.apiKey,
    });
    expect(files.body).toEqual([{ path: 'model/info', type: 'file', size: 16, mtime: '2025-01-02T03:04:05.000Z' }]);

    // The token is bound: a second upload with it is refused, and says what to do instead.
    const again = await upload(token, demoEntries());
    expect(again.status).toBe(409);
    expect(again.body.detail).toBe('this token already holds version 1; use cp to append, or ask for a new token');
  });

  it('reports every problem of a bad tree at once, and still stores the version', async () => {
    const { token } = await freshToken();
    const res = await upload(token, [
      { name: 'model', content: 'not a directory' },
      { name: 'meta.json', content: '{"parameter_scale_billion": -3}' },
      { name: 'service.py', content: 'class Handler:\n    pass\n' },
      { name: 'local_guniconf.py', content: 'bind = "0.0.0.0:5000"\nworkers = 0\n' },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.check.ok).toBe(false);
    expect(res.body.check.problems.map((p: { path: string; rule: string }) => `${p.path}:${p.rule}`)).toEqual([
      'model:directory',
      'local_guniconf.py:workers',
      'meta.json:parameter_scale_billion',
      'service.py:service_class',
    ]);
    expect(res.body.check.parameterScaleBillion).toBeNull();
    for (const problem of res.body.check.problems) expect(problem.message.length).toBeGreaterThan(20);

    const { token: emptyToken } = await freshToken();
    const empty = await upload(emptyToken, [{ name: 'README.md', content: 'hi' }]);
    expect(empty.body.check.problems.map((p: { path: string; rule: string }) => `${p.path}:${p.rule}`)).toEqual([
      'model:required',
      'local_guniconf.py:required',
      'meta.json:required',
      'service.py:required',
    ]);
  });
});

describe('cp and ls', () => {
  it('cp of a file and of a directory make derived versions; ls shows them; older versions stay as they were', async () => {
    const { evaluationId, token } = await freshToken();
    expect((await upload(token, demoEntries())).status).toBe(201);
    const v1 = await versionDir(evaluationId, 1);
    const v1Before = await listTree(v1);
    const v1Service = await readFile(path.join(v1, 'service.py'), 'utf8');

    // One file, replacing service.py.
    const file = await fetch(`${api.url}/v1/upload/files?path=service.py`, {
      method: 'PUT',
      headers: uploadHeaders(token, 'application/octet-stream'),
      body: 'class Service:\n    pass\n',
    });
    const v2 = await file.json();
    expect(file.status, JSON.stringify(v2)).toBe(201);
    expect(v2).toMatchObject({ version: 2, kind: 'cp', derivedFrom: 1, files: 4, check: { ok: true } });

    // A directory's contents placed under /model: new files appear, existing ones are replaced.
    const dir = await cpTar(token, '/model', [
      { name: 'tokenizer/', type: 'directory' },
      { name: 'tokenizer/vocab.txt', content: 'a\nb\n' },
      { name: 'info', content: 'new weights\n' },
    ]);
    expect(dir.status, JSON.stringify(dir.body)).toBe(201);
    expect(dir.body).toMatchObject({ version: 3, kind: 'cp', derivedFrom: 2, files: 5 });

    const listing = await ls(token, '/model');
    expect(listing.status).toBe(200);
    expect(listing.body.map((e: { path: string; type: string }) => `${e.type} ${e.path}`)).toEqual([
      'file model/info',
      'dir model/tokenizer',
    ]);
    expect((await ls(token, 'model/tokenizer')).body).toEqual([
      expect.objectContaining({ path: 'model/tokenizer/vocab.txt', type: 'file', size: 4 }),
    ]);
    const root = await ls(token);
    expect(root.body.map((e: { path: string }) => e.path)).toEqual([
      'local_guniconf.py',
      'meta.json',
      'model',
      'service.py',
    ]);

    // Version 1 is untouched: same entries, same contents (the overwritten files were replaced, not written into).
    expect(await listTree(v1)).toEqual(v1Before);
    expect(await readFile(path.join(v1, 'service.py'), 'utf8')).toBe(v1Service);
    expect(await readFile(path.join(v1, 'model/info'), 'utf8')).toBe('weights go here\n');
    const v3 = await versionDir(evaluationId, 3);
    expect(await readFile(path.join(v3, 'model/info'), 'utf8')).toBe('new weights\n');
    expect(await readFile(path.join(v3, 'service.py'), 'utf8')).toBe('class Service:\n    pass\n');
    // Unchanged files are shared with the version they came from, not copied.
    expect((await stat(path.join(v3, 'meta.json'))).ino).toBe((await stat(path.join(v1, 'meta.json'))).ino);

    const versions = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: owner.apiKey });
    expect(versions.body.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    const tokens = await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey });
    expect(tokens.body[0].uploadVersion).toBe(3);
  });

  it('ls of a path that does not exist is 404; cp and ls before any upload are 409', async () => {
    const { token } = await freshToken();
    const early = await ls(token);
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/holds no version yet/);
    const cp = await cpTar(token, '/x', [{ name: 'a', content: 'a' }]);
    expect(cp.status).toBe(409);

    expect((await upload(token, demoEntries())).status).toBe(201);
    const missing = await ls(token, '/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe('"/nowhere" does not exist in version 1');
    const escape = await ls(token, '/../etc');
    expect(escape.status).toBe(400);
    expect(escape.body.errors).toEqual([{ field: 'path', message: expect.stringContaining('..') }]);
  });

  it('one file: stored where path says, executable when asked, never outside the upload', async () => {
    const { evaluationId, token } = await freshToken();
    expect((await upload(token, demoEntries())).status).toBe(201);
    const put = (query: string, body = '#!/bin/sh\necho hi\n') =>
      fetch(`${api.url}/v1/upload/files?${query}`, {
        method: 'PUT',
        headers: uploadHeaders(token, 'application/octet-stream'),
        body,
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as any,
      }));
    const stored = await put('path=%2Fbin%2Fstart%20me.sh&executable=true');
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    const v2 = await getUploadVersion(api.deps.db, evaluationId, 2);
    const file = path.join(uploadDir, v2!.storagePath, 'bin', 'start me.sh');
    expect(await readFile(file, 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect((await stat(file)).mode & 0o777).toBe(0o755);

    const up = await put('path=..%2Fx');
    expect(up.status).toBe(400);
    expect(up.body.errors).toEqual([{ field: 'path', message: expect.stringContaining('..') }]);
    const root = await put('path=%2F');
    expect(root.status).toBe(400);
    expect(root.body.errors).toEqual([{ field: 'path', message: 'must name a file, not the root' }]);
    const none = await put('');
    expect(none.status).toBe(400);
    expect(none.body.errors[0].field).toBe('path');
    const overDir = await put('path=model');
    expect(overDir.status).toBe(409);
    expect(
      (await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: owner.apiKey })).body,
    ).toHaveLength(2);
  });

  it('keeps relative links that stay inside the upload', async () => {
    const { evaluationId, token } = await freshToken();
    const res = await upload(token, [
      ...demoEntries(),
      { name: 'weights/', type: 'directory' },
      { name: 'weights/a.bin', content: 'AAAA' },
      { name: 'model/a.bin', type: 'symlink', linkname: '../weights/a.bin' },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const dir = await versionDir(evaluationId, 1);
    expect(await readlink(path.join(dir, 'model/a.bin'))).toBe('../weights/a.bin');
    expect(await readFile(path.join(dir, 'model/a.bin'), 'utf8')).toBe('AAAA');
    expect((await ls(token, 'model')).body.map((e: { path: string; type: string }) => `${e.type} ${e.path}`)).toEqual([
      'symlink model/a.bin',
      'file model/info',
    ]);
  });
});

describe('refused archives', () => {
  const refusals: [string, () => Promise<Buffer>, number, RegExp][] = [
    [
      'a ../ path',
      () => tarOf([...demoEntries(), { name: '../x', content: 'escape' }]),
      400,
      /"\.\.\/x" has a "\.\." component/,
    ],
    ['an absolute path', () => tarOf([{ name: '/etc/x', content: 'escape' }]), 400, /"\/etc\/x" is an absolute path/],
    [
      'a link to an absolute path',
      () => tarOf([{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }]),
      400,
      /points to the absolute path/,
    ],
    [
      'a link climbing out',
      () =>
        tarOf([
          { name: 'model/', type: 'directory' },
          { name: 'model/up', type: 'symlink', linkname: '../../x' },
        ]),
      400,
      /outside the upload/,
    ],
    [
      'a link escaping through another link',
      () =>
        tarOf([
          { name: 'here', type: 'symlink', linkname: '.' },
          { name: 'out', type: 'symlink', linkname: 'here/..' },
        ]),
      400,
      /"out" leads outside the upload once the links/,
    ],
    [
      'a write through a link',
      () =>
        tarOf([
          { name: 'sub/', type: 'directory' },
          { name: 'l', type: 'symlink', linkname: 'sub' },
          { name: 'l/x', content: 'x' },
        ]),
      409,
      /"l" is a symbolic link/,
    ],
    [
      'a hard link',
      () =>
        tarOf([
          { name: 'a', content: 'a' },
          { name: 'b', type: 'link', linkname: 'a' },
        ]),
      400,
      /hard link/,
    ],
    ['a FIFO', () => tarOf([{ name: 'pipe', type: 'fifo' }]), 400, /is a fifo/],
    ['a character device', () => tarOf([{ name: 'null', type: 'character-device' }]), 400, /is a character-device/],
    ['garbage', async () => Buffer.alloc(4096, 'x'), 400, /not a valid tar stream/],
    [
      'an empty body',
      async () => Buffer.alloc(0),
      400,
      /not a valid tar stream: it ends without the end-of-archive marker/,
    ],
    ['a cut-short archive', () => tarOf(demoEntries(), { endMarker: false }), 400, /cut short/],
    [
      'a truncated entry',
      async () => (await tarOf(demoEntries())).subarray(0, 1536 + 100),
      400,
      /not a valid tar stream/,
    ],
  ];

  for (const [what, archive, status, detail] of refusals) {
    it(`refuses ${what} (${status}) and stores nothing`, async () => {
      const { evaluationId, token } = await freshToken();
      const before = await storedTree(uploadDir);
      const res = await upload(token, await archive());
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.detail).toMatch(detail);
      expect(await storedTree(uploadDir)).toEqual(before);
      expect(
        await api.deps.db.select().from(uploadVersions).where(eq(uploadVersions.evaluationId, evaluationId)),
      ).toEqual([]);
      // The token stays unbound: a good upload still works, and is version 1.
      const good = await upload(token, demoEntries());
      expect(good.status).toBe(201);
      expect(good.body.version).toBe(1);
    });
  }

  it('a failed cp changes neither the token nor its version', async () => {
    const { evaluationId, token } = await freshToken();
    expect((await upload(token, demoEntries())).status).toBe(201);
    const v1 = await versionDir(evaluationId, 1);
    const before = await listTree(v1);
    const refused = await cpTar(token, '/', [
      { name: 'ok.txt', content: 'fine' },
      { name: 'meta.json/inner', content: 'x' },
    ]);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe('"meta.json" is a file in the upload, so it cannot hold "meta.json/inner"');
    expect(await listTree(v1)).toEqual(before);
    const dirOverFile = await cpTar(token, '/', [{ name: 'model', content: 'x' }]);
    expect(dirOverFile.status).toBe(409);
    expect(dirOverFile.body.detail).toMatch(/"model" is a directory/);
    const traversal = await cpTar(token, '/../up', [{ name: 'a', content: 'a' }]);
    expect(traversal.status).toBe(400);
    expect(traversal.body.errors).toEqual([{ field: 'to', message: expect.stringContaining('..') }]);
    const tokens = await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey });
    expect(tokens.body[0].uploadVersion).toBe(1);
    const next = await cpTar(token, '/', [{ name: 'ok.txt', content: 'fine' }]);
    expect(next.body.version).toBe(2);
  });

  it('refuses a body of the wrong content type with 415, before reading it', async () => {
    const { token } = await freshToken();
    const res = await fetch(`${api.url}/v1/upload`, {
      method: 'PUT',
      headers: uploadHeaders(token, 'application/json'),
      body: '{}',
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as any).detail).toBe(
      'send a tar stream of the directory’s contents with Content-Type: application/x-tar, not application/json',
    );
  });
});
