/**
 * The real flageval-serving CLI (PyPI 0.2.5, in a cached virtual environment) against the API:
 * `upload` of the demo tree with a file of many chunks, an upload cut off mid-way and resumed
 * (the second run sends only the chunks the first did not), `cp` of a file and of a directory over
 * the stored tree, `ls`, the package's `rm`, and the refusals: a bad token, paths that leave the
 * upload, a declaration over the size limit, chunks longer or shorter than declared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getUploadVersion } from '../../db/queries/uploads';
import { censorTokenInUrl } from '../../api/app';
import { startApi, type TestApi } from '../support/apiServer';
import { requireEnv } from '../support/env';
import { ensureFlagevalServingVenv, type FlagevalServingVenv } from '../support/flagevalServing/venv';
import { createPrivateEvaluation, issueToken, platformImage, useFreshUploadDir, writeDemoTree } from './uploadFixtures';

const CHUNK_KB = 64;
const MAX_BYTES = 16 * 1024 * 1024;

let api: TestApi;
let venv: FlagevalServingVenv;
let uploadDir: string;
let work: string;
let owner: { id: string; apiKey: string };
let imageId: string;

beforeAll(async () => {
  uploadDir = useFreshUploadDir({
    PROCTOR_UPLOAD_CHUNK_KB: String(CHUNK_KB),
    PROCTOR_UPLOAD_MAX_BYTES: String(MAX_BYTES),
  });
  [api, venv] = await Promise.all([startApi(), ensureFlagevalServingVenv()]);
  owner = await api.createUser('user');
  imageId = await platformImage(api);
  work = await mkdtemp(path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), 'flageval-cli-'));
}, 900_000);

afterAll(async () => {
  await api?.close();
  if (work) await rm(work, { recursive: true, force: true });
  delete process.env.PROCTOR_UPLOAD_CHUNK_KB;
  delete process.env.PROCTOR_UPLOAD_MAX_BYTES;
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `flageval-serving ARGS` as a user runs it: what the package's console script does (the script
 * itself names the scratch path the cached venv was made in, and `-m flageval.serving` runs nothing).
 */
function flageval(args: string[], cwd = work): Promise<CliRun> {
  return python(['-c', 'import sys; from flageval.serving.cli import main; sys.exit(main())', ...args], cwd);
}

function python(args: string[], cwd = work): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(venv.python, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_PROXY: '*', PYTHONUNBUFFERED: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Stands between the CLI and the API, counting the chunk requests it passes; after `cutAfter`
 * of them it drops every connection, as a network that goes away mid-upload does.
 */
async function startRelay(
  cutAfter = Infinity,
): Promise<{ url: string; chunks: () => number; close: () => Promise<void> }> {
  let chunks = 0;
  const server: Server = createServer((req, res) => {
    const isChunk = /\/chunks\?/.test(req.url ?? '');
    if (isChunk && chunks >= cutAfter) {
      req.socket.destroy();
      return;
    }
    const body: Buffer[] = [];
    req.on('data', (piece: Buffer) => body.push(piece));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name))
          headers[name] = value;
      }
      fetch(`${api.url}${req.url}`, {
        method: req.method,
        headers,
        ...(body.length > 0 ? { body: Buffer.concat(body) } : {}),
      })
        .then(async (answer) => {
          if (isChunk && answer.status === 200) chunks += 1;
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    chunks: () => chunks,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

async function versions(
  evaluationId: string,
): Promise<{ version: number; kind: string; derivedFrom: number | null }[]> {
  const res = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads`, { key: owner.apiKey });
  expect(res.status).toBe(200);
  return res.body;
}

async function storedFile(evaluationId: string, version: number, rel: string): Promise<string> {
  const row = await getUploadVersion(api.deps.db, evaluationId, version);
  return path.join(uploadDir, row!.storagePath, rel);
}

async function newToken(): Promise<{ evaluationId: string; token: string }> {
  const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
  return { evaluationId, token: await issueToken(api, owner.apiKey, evaluationId) };
}

describe('flageval-serving upload', () => {
  it('uploads the demo tree in chunks as version 1, and a second upload replaces what changed', async () => {
    const { evaluationId, token } = await newToken();
    const demo = path.join(work, 'demo');
    await writeDemoTree(demo);
    // 1 MiB + 300 bytes, declared as 1,024 KiB: 16 chunks of 64 KiB, the last one with the 300 bytes more.
    await writeFile(path.join(demo, 'model', 'weights.bin'), randomBytes(1024 * 1024 + 300));
    await writeFile(path.join(demo, 'model', 'empty.txt'), '');
    const relay = await startRelay();
    try {
      const run = await flageval(['upload', `--host=${relay.url}`, `--token=${token}`, demo]);
      expect(run.stderr).not.toMatch(/Traceback/);
      expect(run.code).toBe(0);
      expect(relay.chunks()).toBe(16 + 1 + 4); // weights, empty.txt, and the four files of the demo
    } finally {
      await relay.close();
    }
    expect(await versions(evaluationId)).toMatchObject([{ version: 1, kind: 'upload', derivedFrom: null }]);
    const detail = await api.request('GET', `/v1/evaluations/${evaluationId}/uploads/1`, { key: owner.apiKey });
    expect(detail.body.check).toMatchObject({ ok: true, problems: [] });
    for (const rel of [
      'model/weights.bin',
      'model/empty.txt',
      'model/info',
      'service.py',
      'meta.json',
      'local_guniconf.py',
    ])
      expect(await sha256(await storedFile(evaluationId, 1, rel))).toBe(await sha256(path.join(demo, rel)));
    // Nothing of the upload is left waiting.
    expect(await readdir(path.join(uploadDir, '.resumable'))).toEqual([]);

    // Running upload again with an edited file: a new version on top of version 1, with the edit.
    await writeFile(path.join(demo, 'meta.json'), '{"parameter_scale_billion": 13}\n');
    const again = await flageval(['upload', `--host=${api.url}`, `--token=${token}`, demo]);
    expect(again.code).toBe(0);
    expect((await versions(evaluationId))[0]).toMatchObject({ version: 2, kind: 'cp', derivedFrom: 1 });
    expect(await readFile(await storedFile(evaluationId, 2, 'meta.json'), 'utf8')).toContain('13');
    expect(await readFile(await storedFile(evaluationId, 1, 'meta.json'), 'utf8')).toContain('7');
  });

  it('resumes an upload cut off mid-way, sending only the chunks that did not arrive', async () => {
    const { evaluationId, token } = await newToken();
    const tree = path.join(work, 'resumed');
    await writeDemoTree(tree);
    await writeFile(path.join(tree, 'model', 'weights.bin'), randomBytes(40 * 64 * 1024));
    const cut = await startRelay(12);
    try {
      const first = await flageval(['upload', `--host=${cut.url}`, `--token=${token}`, tree]);
      expect(first.code).not.toBe(0);
      expect(first.stderr).toMatch(/ConnectionError|Connection aborted|RemoteDisconnected/);
    } finally {
      await cut.close();
    }
    expect(await versions(evaluationId)).toEqual([]);
    const pending = await api.request('GET', `/api/evaluations/models/files?token=${token}`);
    const ready = (pending.body.results as { chunks: { ks3Ready: boolean }[] }[])
      .flatMap((file) => file.chunks)
      .filter((chunk) => chunk.ks3Ready).length;
    expect(ready).toBe(12);

    const relay = await startRelay();
    try {
      const second = await flageval(['upload', `--host=${relay.url}`, `--token=${token}`, tree]);
      expect(second.code).toBe(0);
      expect(relay.chunks()).toBe(40 + 4 - 12);
    } finally {
      await relay.close();
    }
    expect(await versions(evaluationId)).toMatchObject([{ version: 1, kind: 'upload' }]);
    expect(await sha256(await storedFile(evaluationId, 1, 'model/weights.bin'))).toBe(
      await sha256(path.join(tree, 'model', 'weights.bin')),
    );
  });
});

describe('flageval-serving cp, ls and rm', () => {
  it('copies a file and a directory over the stored tree, lists it, and removes a path', async () => {
    const { evaluationId, token } = await newToken();
    const demo = path.join(work, 'cp-demo');
    await writeDemoTree(demo);
    await writeFile(path.join(demo, 'model', 'config.json'), '{}');
    expect((await flageval(['upload', `--host=${api.url}`, `--token=${token}`, demo])).code).toBe(0);

    // A file onto an existing file: replaced in place.
    const service = path.join(work, 'service-v2.py');
    await writeFile(service, 'class Service:\n    pass\n');
    const file = await flageval(['cp', `--host=${api.url}`, `--token=${token}`, service, '/service.py']);
    expect(file.stderr).not.toMatch(/Traceback|error/);
    expect(file.code).toBe(0);
    expect((await versions(evaluationId))[0]).toMatchObject({ version: 2, kind: 'cp', derivedFrom: 1 });
    expect(await readFile(await storedFile(evaluationId, 2, 'service.py'), 'utf8')).toBe('class Service:\n    pass\n');

    // A directory onto an existing directory: placed under it by its name, like cp -r.
    const tokenizer = path.join(work, 'tokenizer');
    await mkdir(path.join(tokenizer, 'extra'), { recursive: true });
    await writeFile(path.join(tokenizer, 'vocab.txt'), 'a\nb\n');
    await writeFile(path.join(tokenizer, 'extra', 'merges.txt'), 'ab\n');
    const dir = await flageval(['cp', `--host=${api.url}`, `--token=${token}`, tokenizer, '/model']);
    expect(dir.code).toBe(0);
    expect(await readFile(await storedFile(evaluationId, 3, 'model/tokenizer/extra/merges.txt'), 'utf8')).toBe('ab\n');

    const listed = await flageval(['ls', `--host=${api.url}`, `--token=${token}`, '/model']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual(['model/config.json', 'model/info', 'model/tokenizer/']);
    const missing = await flageval(['ls', `--host=${api.url}`, `--token=${token}`, '/nowhere']);
    expect(missing.stderr).toContain('error: /nowhere not exists');

    // The package's rm (its CLI does not expose it): a new version without the path.
    const removed = await python([
      '-c',
      'import sys; from flageval.serving.flageval import FlagEvalManager as M; M(sys.argv[1], sys.argv[2], sys.argv[3], "").rm()',
      api.url,
      token,
      '/model/tokenizer',
    ]);
    expect(removed.stdout + removed.stderr).toBe('');
    expect((await versions(evaluationId))[0]).toMatchObject({ version: 4, kind: 'rm', derivedFrom: 3 });
    const after = await flageval(['ls', `--host=${api.url}`, `--token=${token}`, '/model']);
    expect(after.stdout.trim().split('\n')).toEqual(['model/config.json', 'model/info']);
  });
});

describe('refusals', () => {
  it('refuses a bad token, and stores nothing', async () => {
    const { evaluationId } = await newToken();
    const demo = path.join(work, 'bad-token');
    await writeDemoTree(demo);
    const run = await flageval(['upload', `--host=${api.url}`, `--token=pup_${'x'.repeat(43)}`, demo]);
    expect(run.code).not.toBe(0);
    expect(await versions(evaluationId)).toEqual([]);
    const res = await api.request('GET', `/api/evaluations/models/files?token=pup_${'x'.repeat(43)}`);
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/the upload token is unknown/);
    const none = await api.request('GET', '/api/evaluations/models/files');
    expect(none.status).toBe(401);
    expect(none.body.detail).toMatch(/token=pup_/);
  });

  it('refuses paths that leave the upload, from the CLI and on the wire', async () => {
    const { evaluationId, token } = await newToken();
    const inner = path.join(work, 'inner');
    await mkdir(inner, { recursive: true });
    await writeFile(path.join(work, 'outside.txt'), 'secret\n');
    // cp without a destination names the file by its local path: "../outside.txt".
    const run = await flageval(['cp', `--host=${api.url}`, `--token=${token}`, '../outside.txt'], inner);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('component, which would reach outside the upload');
    expect(await versions(evaluationId)).toEqual([]);

    for (const filename of ['/etc/passwd', 'model/../../escape', '..', 'a/\u0000b']) {
      const res = await api.request('POST', '/api/evaluations/models/files', {
        body: { token, files: [{ filename, sizeKb: 1 }] },
      });
      expect(res.status, filename).toBe(400);
      expect(res.body.errors[0].field).toBe('files[0].filename');
    }
    const ls = await api.request('POST', '/api/evaluations/manage/op_file', {
      body: `command=ls&token=${token}&src_path=../../etc`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(ls.status).toBe(400);
    expect(ls.body.errors[0].field).toBe('src_path');
    expect(await versions(evaluationId)).toEqual([]);
  });

  it('refuses more than the size limit, and chunks that do not match their declaration', async () => {
    const { evaluationId, token } = await newToken();
    const big = path.join(work, 'big');
    await mkdir(big, { recursive: true });
    await writeFile(path.join(big, 'weights.bin'), Buffer.alloc(MAX_BYTES + 4096));
    const run = await flageval(['upload', `--host=${api.url}`, `--token=${token}`, big]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('413');
    expect(run.stderr).toContain('more than the 16,777,216 bytes of one version');

    const declared = await api.request('POST', '/api/evaluations/models/files', {
      body: { token, files: [{ filename: 'weights.bin', sizeKb: 100 }] },
    });
    expect(declared.status).toBe(201);
    const fileId = declared.body.results[0].id as number;
    expect(declared.body.results[0].chunks.map((c: { sizeKb: number }) => c.sizeKb)).toEqual([64, 36]);
    const send = async (num: number, bytes: number) => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(bytes)]), 'weights.bin');
      const res = await fetch(
        `${api.url}/api/evaluations/models/files/${fileId}/chunks?chunk_num=${num}&token=${token}&is_update=0`,
        {
          method: 'POST',
          body: form,
        },
      );
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await send(1, 64 * 1024 + 1)).status).toBe(413);
    const short = await send(1, 1000);
    expect(short.status).toBe(400);
    expect(short.body.detail).toMatch(/fewer than the 65,536 declared/);
    expect((await send(3, 10)).status).toBe(400);
    expect((await send(1, 64 * 1024)).status).toBe(200);
    const last = await send(2, 36 * 1024 + 5);
    expect(last.status).toBe(200);
    expect(last.body.version).toMatchObject({ version: 1, kind: 'upload', files: 1, bytes: 100 * 1024 + 5 });
    expect(await versions(evaluationId)).toHaveLength(1);
  });

  it('keeps tokens out of the logged URL', () => {
    expect(censorTokenInUrl('/api/evaluations/models/files/3/chunks?chunk_num=1&token=pup_abc&is_update=0')).toBe(
      '/api/evaluations/models/files/3/chunks?chunk_num=1&token=[redacted]&is_update=0',
    );
    expect(censorTokenInUrl('/api/evaluations/models/files?token=pup_abc')).toBe(
      '/api/evaluations/models/files?token=[redacted]',
    );
  });
});
