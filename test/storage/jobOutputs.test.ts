/**
 * The guarded reader of a container job's outputs on a real directory: files inside are read,
 * links that stay inside are followed, and everything else is refused with a reason that says
 * what was expected (escaping links and paths, oversize files, garbage JSON, a missing file).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOutputError, readJobOutput, readJobOutputJson } from '../../storage/jobOutputs';

let root: string;
let outside: string;

beforeAll(async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'proctor-job-outputs-'));
  root = path.join(base, 'output');
  outside = path.join(base, 'secret.json');
  await mkdir(path.join(root, 'nested'), { recursive: true });
  await writeFile(outside, '{"key": "not for the job"}');
  await writeFile(path.join(root, 'metrics.json'), '{"accuracy": 0.5}');
  await writeFile(path.join(root, 'nested', 'big.bin'), Buffer.alloc(2048, 1));
  await writeFile(path.join(root, 'garbage.json'), '{"accuracy": 0.5,');
  await writeFile(path.join(root, 'latin1.json'), Buffer.from([0x7b, 0xff, 0x7d]));
  await symlink('metrics.json', path.join(root, 'alias.json'));
  await symlink(outside, path.join(root, 'absolute.json'));
  await symlink('../secret.json', path.join(root, 'relative.json'));
  await symlink('..', path.join(root, 'nested', 'up'));
  await symlink('loop', path.join(root, 'loop'));
});

afterAll(async () => {
  await rm(path.dirname(root), { recursive: true, force: true });
});

async function refusal(read: Promise<unknown>): Promise<JobOutputError> {
  const error = await read.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobOutputError);
  return error as JobOutputError;
}

describe('reading a job output', () => {
  it('reads JSON inside the directory, through a link that stays inside', async () => {
    expect(await readJobOutputJson(root, 'metrics.json')).toEqual({ accuracy: 0.5 });
    expect(await readJobOutputJson(root, 'alias.json')).toEqual({ accuracy: 0.5 });
    expect(await readJobOutputJson(root, 'nested/up/metrics.json')).toEqual({ accuracy: 0.5 });
  });

  it.each(['absolute.json', 'relative.json', 'nested/up/../secret.json', '../secret.json'])(
    'refuses %s, which leads outside the directory',
    async (rel) => {
      const error = await refusal(readJobOutputJson(root, rel));
      expect(error.problem).toBe('outside');
      expect(error.message).toMatch(/leads outside the job's output directory.*expected a regular file inside it/);
    },
  );

  it('refuses an absolute path and a loop of links', async () => {
    expect((await refusal(readJobOutput(root, outside))).problem).toBe('outside');
    expect((await refusal(readJobOutput(root, 'loop'))).message).toMatch(/loop of symbolic links/);
  });

  it('refuses a file over its cap, saying both sizes', async () => {
    expect((await readJobOutput(root, 'nested/big.bin', { maxBytes: 2048 })).length).toBe(2048);
    const error = await refusal(readJobOutput(root, 'nested/big.bin', { maxBytes: 1024 }));
    expect(error.problem).toBe('too_large');
    expect(error.message).toBe('"nested/big.bin" is 2048 bytes, more than the 1024 bytes allowed for it');
  });

  it('refuses garbage JSON and bytes that are not UTF-8', async () => {
    const garbage = await refusal(readJobOutputJson(root, 'garbage.json'));
    expect(garbage.problem).toBe('malformed');
    expect(garbage.message).toMatch(/^"garbage\.json" is not valid JSON \(.+\); expected a JSON document$/);
    expect((await refusal(readJobOutputJson(root, 'latin1.json'))).message).toMatch(/is not UTF-8 text/);
  });

  it('says a missing file or a directory is not what was expected', async () => {
    const missing = await refusal(readJobOutputJson(root, 'metrics2.json'));
    expect(missing.problem).toBe('missing');
    expect(missing.message).toBe('the job wrote no "metrics2.json" in its output directory; expected a file there');
    expect((await refusal(readJobOutput(root, 'nested'))).problem).toBe('not_a_file');
  });
});
