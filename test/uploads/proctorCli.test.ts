/**
 * The `proctor` CLI end to end, as a separate process against the real API: upload of the demo
 * tree with a 200 MiB weights file (streamed: the API's memory does not grow with it), cp of a
 * file and of a directory, ls, and the server's refusals printed with a non-zero exit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getUploadVersion } from '../../db/queries/uploads';
import { startApi, type TestApi } from '../support/apiServer';
import { requireEnv } from '../support/env';
import { createPrivateEvaluation, issueToken, platformImage, useFreshUploadDir, writeDemoTree } from './uploadFixtures';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const BIG_FILE_BYTES = 200 * 1024 * 1024;

let api: TestApi;
let uploadDir: string;
let work: string;
let owner: { id: string; apiKey: string };
let imageId: string;

beforeAll(async () => {
  uploadDir = useFreshUploadDir();
  api = await startApi();
  owner = await api.createUser('user');
  imageId = await platformImage(api);
  work = await mkdtemp(path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), 'cli-'));
});

afterAll(async () => {
  await api?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function proctor(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['cli/proctor.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, PROCTOR_URL: '', PROCTOR_UPLOAD_TOKEN: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A large file of varied content, written in pieces (never held whole here either). */
async function writeBigFile(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    const piece = randomBytes(1024 * 1024);
    for (let written = 0; written < bytes; written += piece.byteLength) {
      piece.writeUInt32LE(written, 0);
      hash.update(piece);
      await handle.write(piece);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** The most memory this process held in buffers and on the heap while `work` ran. */
async function peakMemoryDuring<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baseline = used();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, used())), 5);
  try {
    const result = await work();
    peak = Math.max(peak, used());
    return { result, growth: peak - baseline };
  } finally {
    clearInterval(sampler);
  }
}

describe('proctor', () => {
  it('uploads, copies and lists, streaming a 200 MiB file', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    const demo = path.join(work, 'demo');
    await writeDemoTree(demo);
    const bigHash = await writeBigFile(path.join(demo, 'model', 'weights.bin'), BIG_FILE_BYTES);
    await symlink('weights.bin', path.join(demo, 'model', 'current.bin'));

    const { result: uploaded, growth } = await peakMemoryDuring(() =>
      proctor(['upload', `--token=${token}`, `--server=${api.url}`, demo]),
    );
    expect(uploaded.stderr).toBe('');
    expect(uploaded.code).toBe(0);
    expect(uploaded.stdout).toBe(
      `Stored version 1 of evaluation ${evaluationId}: 5 files, 200.0 MiB.\n` +
        'Layout check (nlp): ok (7B parameters: at most 1 GPU).\n',
    );
    // Streamed, not buffered: the API (in this process) never held more than a fraction of the upload (buffering it would be over 1).
    if (process.env.PROCTOR_TEST_SHOW_MEMORY)
      console.log(`API memory growth during the upload: ${(growth / BIG_FILE_BYTES).toFixed(3)} of the file's size`);
    expect(growth / BIG_FILE_BYTES).toBeLessThan(0.5);

    const v1 = await getUploadVersion(api.deps.db, evaluationId, 1);
    const v1Dir = path.join(uploadDir, v1!.storagePath);
    expect(await sha256(path.join(v1Dir, 'model', 'weights.bin'))).toBe(bigHash);
    expect(await readlink(path.join(v1Dir, 'model', 'current.bin'))).toBe('weights.bin');

    // A token uploads once.
    const again = await proctor(['upload', `--token=${token}`, `--server=${api.url}`, demo]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'proctor: this token already holds version 1; use cp to append, or ask for a new token (HTTP 409)\n',
    );

    // cp of a file: placed in the remote directory under its own name; the server from PROCTOR_URL.
    const service = path.join(work, 'service.py');
    await writeFile(service, 'class Service:\n    def infer(self, req):\n        return None\n');
    const file = await proctor(['cp', '--token', token, service, '/'], { PROCTOR_URL: api.url });
    expect(file.stderr).toBe('');
    expect(file.stdout).toMatch(/^Stored version 2 of evaluation .* \(cp on top of version 1\): 5 files, /);

    // cp of a directory: REMOTE/<its name> is created, like cp -r.
    const tokenizer = path.join(work, 'tokenizer');
    await mkdir(path.join(tokenizer, 'extra'), { recursive: true });
    await writeFile(path.join(tokenizer, 'vocab.txt'), 'a\nb\n');
    await writeFile(path.join(tokenizer, 'extra', 'merges.txt'), 'ab\n');
    const dir = await proctor(['cp', `--token=${token}`, `--server=${api.url}`, tokenizer, '/model']);
    expect(dir.stderr).toBe('');
    expect(dir.stdout).toMatch(/^Stored version 3 .* \(cp on top of version 2\): 7 files, /);

    const listed = await proctor(['ls', `--token=${token}`, `--server=${api.url}`, '/model']);
    expect(listed.code).toBe(0);
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/).at(-1)),
    ).toEqual(['model/current.bin', 'model/info', 'model/tokenizer/', 'model/weights.bin']);
    expect(listed.stdout).toMatch(/^file\s+200\.0 MiB\s+\S+ \S+\s+model\/weights\.bin$/m);
    const nested = await proctor(['ls', `--token=${token}`, `--server=${api.url}`, 'model/tokenizer/extra']);
    expect(nested.stdout).toMatch(/model\/tokenizer\/extra\/merges\.txt\n$/);

    const v3 = await getUploadVersion(api.deps.db, evaluationId, 3);
    expect(await readFile(path.join(uploadDir, v3!.storagePath, 'service.py'), 'utf8')).toMatch(/^class Service:/);
    expect(await readFile(path.join(v1Dir, 'service.py'), 'utf8')).toMatch(/^from flageval/);

    const missing = await proctor(['ls', `--token=${token}`, `--server=${api.url}`, '/nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('proctor: "/nowhere" does not exist in version 3 (HTTP 404)\n');
  });

  it('prints every problem of the layout check, and the server’s refusals', async () => {
    const evaluationId = await createPrivateEvaluation(api, owner.apiKey, imageId);
    const token = await issueToken(api, owner.apiKey, evaluationId);
    const bad = path.join(work, 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(path.join(bad, 'meta.json'), '{"parameter_scale_billion": "seven"}');
    const res = await proctor(['upload', `--token=${token}`, `--server=${api.url}`, bad]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[1]).toBe('Layout check (nlp): 4 problems to fix before launching:');
    expect(lines.slice(2).map((l) => l.split(':')[0])).toEqual([
      '  - model [required]',
      '  - local_guniconf.py [required]',
      '  - meta.json [parameter_scale_billion]',
      '  - service.py [required]',
    ]);

    const unknown = await proctor(['ls', `--token=pup_${'x'.repeat(43)}`, `--server=${api.url}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^proctor: the upload token is unknown: .* \(HTTP 401\)\n$/);

    const escaping = path.join(work, 'escaping');
    await mkdir(escaping, { recursive: true });
    await symlink('/etc/passwd', path.join(escaping, 'passwd'));
    const refused = await proctor([
      'upload',
      `--token=${await issueToken(api, owner.apiKey, evaluationId)}`,
      `--server=${api.url}`,
      escaping,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'proctor: symbolic link "passwd" points to the absolute path "/etc/passwd"; links must be relative and stay inside the upload (HTTP 400)\n',
    );

    const usage = await proctor(['upload', bad]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^proctor: upload needs --token=TOKEN/);
    const help = await proctor(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/proctor upload --token=TOKEN DIR/);
    const notDir = await proctor(['upload', `--token=${token}`, path.join(bad, 'meta.json')]);
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toMatch(/is not a directory/);
  });
});
