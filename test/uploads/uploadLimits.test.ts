/**
 * Limits and interruptions through the real API, with small limits: an upload over the byte or
 * entry limit is refused with 413 as soon as the limit is passed (the answer comes while the
 * client is still sending), a cp that would grow a version past the limit is refused, and a client
 * that disconnects mid-body leaves no version and no staging directory behind.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { uploadVersions } from '../../db/schema';
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

const MAX_BYTES = 256 * 1024;
const MAX_ENTRIES = 40;
let api: TestApi;
let uploadDir: string;
let owner: { id: string; apiKey: string };
let imageId: string;

beforeAll(async () => {
  uploadDir = useFreshUploadDir({
    PROCTOR_UPLOAD_MAX_BYTES: String(MAX_BYTES),
    PROCTOR_UPLOAD_MAX_ENTRIES: String(MAX_ENTRIES),
  });
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

async function send(token: string, url: string, method: string, entries: TarEntry[]) {
  const res = await fetch(`${api.url}${url}`, { method, headers: uploadHeaders(token), body: await tarOf(entries) });
  return { status: res.status, body: (await res.json()) as any };
}

async function versionsOf(evaluationId: string) {
  return api.deps.db.select().from(uploadVersions).where(eq(uploadVersions.evaluationId, evaluationId));
}

/** A raw request whose body the test writes piece by piece; resolves `response` as soon as the server answers. */
function openUpload(token: string, urlPath: string, extraHeaders: Record<string, string> = {}) {
  const url = new URL(urlPath, api.url);
  const req = http.request(url, { method: 'PUT', headers: { ...uploadHeaders(token), ...extraHeaders } });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        }),
      );
    });
    req.on('error', reject);
  });
  return { req, response };
}

function drainedOrFailed(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('error', done);
      resolve();
    };
    req.on('drain', done);
    req.on('error', done);
  });
}

/** The 512-byte tar header of a file of `size` bytes, without its content. */
async function fileHeader(name: string, size: number): Promise<Buffer> {
  return (await tarOf([{ name, content: Buffer.alloc(size) }])).subarray(0, 512);
}

describe('limits', () => {
  it('refuses a file over the byte limit as soon as its header arrives, while the client is still sending', async () => {
    const { evaluationId, token } = await freshToken();
    const before = await storedTree(uploadDir);
    const { req, response } = openUpload(token, '/v1/upload');
    req.on('error', () => {}); // the server closes the connection after answering
    // Only the header of a 10 MiB file is sent, and the request is never ended.
    req.write(await fileHeader('model/weights.bin', 10 * 1024 * 1024));
    const res = await response;
    expect(res.status).toBe(413);
    expect(res.body.detail).toBe('the upload is larger than the limit of 256 KiB for one version');
    expect(await versionsOf(evaluationId)).toEqual([]);

    // A client that keeps sending anyway: the server reads a bounded tail, then hangs up.
    let hungUp = false;
    const closed = new Promise<void>((resolve) => req.on('close', () => resolve())).then(() => (hungUp = true));
    const chunk = Buffer.alloc(1024 * 1024);
    let written = 0;
    while (!hungUp && written < 1024 * 1024 * 1024) {
      const flushed = req.write(chunk);
      written += chunk.byteLength;
      if (!flushed) await Promise.race([drainedOrFailed(req), closed]);
    }
    expect(hungUp).toBe(true);
    expect(written).toBeLessThan(64 * 1024 * 1024);
    await vi.waitFor(async () => expect(await storedTree(uploadDir)).toEqual(before));
  });

  it('refuses a declared Content-Length over the limit before reading anything', async () => {
    const { token } = await freshToken();
    const { req, response } = openUpload(token, '/v1/upload/files?path=big.bin', {
      'content-type': 'application/octet-stream',
      'content-length': String(MAX_BYTES + 1),
    });
    req.on('error', () => {});
    req.flushHeaders();
    const res = await response;
    req.destroy();
    expect(res.status).toBe(413);
    expect(res.body.detail).toBe(
      `the body is ${(MAX_BYTES + 1).toLocaleString('en-US')} bytes, more than an upload within the limits can be`,
    );
  });

  it('counts small files together against the byte limit, and entries against the entry limit', async () => {
    const { evaluationId, token } = await freshToken();
    const chunky = Array.from({ length: 5 }, (_, i) => ({
      name: `part-${i}.bin`,
      content: Buffer.alloc(60 * 1024, i),
    }));
    const tooBig = await send(token, '/v1/upload', 'PUT', chunky);
    expect(tooBig.status).toBe(413);
    const many = Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => ({ name: `f${i}.txt`, content: 'x' }));
    const tooMany = await send(token, '/v1/upload', 'PUT', many);
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.detail).toBe(
      `the upload has more than ${MAX_ENTRIES} files, directories and links, the limit for one version`,
    );
    expect(await versionsOf(evaluationId)).toEqual([]);
    // Exactly at the limits is fine.
    const atLimit = await send(
      token,
      '/v1/upload',
      'PUT',
      Array.from({ length: MAX_ENTRIES }, (_, i) => ({ name: `f${i}.txt`, content: 'x' })),
    );
    expect(atLimit.status).toBe(201);
    expect(atLimit.body.files).toBe(MAX_ENTRIES);
  });

  it('applies the limits to the whole version a cp makes, counting replaced files once', async () => {
    const { evaluationId, token } = await freshToken();
    expect(
      (
        await send(token, '/v1/upload', 'PUT', [
          ...demoEntries(),
          { name: 'model/w.bin', content: Buffer.alloc(200 * 1024, 1) },
        ])
      ).status,
    ).toBe(201);
    // Replacing the 200 KiB file by another of the same size stays within the limit...
    const replaced = await send(token, '/v1/upload/cp?to=/model', 'POST', [
      { name: 'w.bin', content: Buffer.alloc(200 * 1024, 2) },
    ]);
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(201);
    // ...adding one beside it does not.
    const added = await send(token, '/v1/upload/cp?to=/model', 'POST', [
      { name: 'w2.bin', content: Buffer.alloc(100 * 1024, 3) },
    ]);
    expect(added.status).toBe(413);
    expect((await versionsOf(evaluationId)).map((v) => v.version).sort()).toEqual([1, 2]);
    expect(await listTree(path.join(uploadDir, '.staging'))).toEqual([]);
  });
});

describe('interruptions', () => {
  it('a client that disconnects mid-body leaves no version and no staging directory; the token still works', async () => {
    const { evaluationId, token } = await freshToken();
    const staging = path.join(uploadDir, '.staging');
    const { req, response } = openUpload(token, '/v1/upload');
    const failed = response.then(
      () => 'answered',
      () => 'failed',
    );
    const demo = await tarOf(demoEntries(), { endMarker: false });
    req.write(demo);
    req.write(await fileHeader('model/weights.bin', 200 * 1024));
    req.write(Buffer.alloc(64 * 1024, 7));
    // The server is writing the file when the client goes away.
    await vi.waitFor(
      async () =>
        expect(await listTree(staging)).toEqual(
          expect.arrayContaining([expect.stringMatching(/\/model\/weights\.bin$/)]),
        ),
      {
        timeout: 10_000,
      },
    );
    req.destroy();
    expect(await failed).toBe('failed');
    await vi.waitFor(async () => expect(await listTree(staging)).toEqual([]), { timeout: 10_000 });
    expect(await versionsOf(evaluationId)).toEqual([]);
    expect(await listTree(path.join(uploadDir, evaluationId))).toEqual([]);

    const again = await send(token, '/v1/upload', 'PUT', demoEntries());
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(1);
  });

  it('the same for one file sent to cp: the version stays where it was', async () => {
    const { evaluationId, token } = await freshToken();
    expect((await send(token, '/v1/upload', 'PUT', demoEntries())).status).toBe(201);
    const staging = path.join(uploadDir, '.staging');
    const { req, response } = openUpload(token, '/v1/upload/files?path=model/weights.bin', {
      'content-type': 'application/octet-stream',
    });
    const failed = response.then(
      () => 'answered',
      () => 'failed',
    );
    req.write(Buffer.alloc(32 * 1024, 1));
    await vi.waitFor(
      async () =>
        expect(await listTree(staging)).toEqual(
          expect.arrayContaining([expect.stringMatching(/\/model\/weights\.bin$/)]),
        ),
      {
        timeout: 10_000,
      },
    );
    req.destroy();
    expect(await failed).toBe('failed');
    await vi.waitFor(async () => expect(await listTree(staging)).toEqual([]), { timeout: 10_000 });
    expect((await versionsOf(evaluationId)).map((v) => v.version)).toEqual([1]);
    const tokens = await api.request('GET', `/v1/evaluations/${evaluationId}/upload-tokens`, { key: owner.apiKey });
    expect(tokens.body[0].uploadVersion).toBe(1);
  });
});
