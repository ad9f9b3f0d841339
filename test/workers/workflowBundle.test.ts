import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeOrphanedBundles } from '../../workers/workflowBundle';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A pid that is certainly gone: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('removeOrphanedBundles', () => {
  it("removes the bundles of worker processes that are gone and keeps live ones' and anything else", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'bundle-sweep-'));
    dirs.push(tmp);
    const gone = await deadPid();
    const names = [
      `proctor-workflows-${gone}-abc`,
      `proctor-workflows-${process.pid}-def`,
      'proctor-workflows-xyz',
      'unrelated-dir',
    ];
    for (const name of names) await mkdir(path.join(tmp, name));
    await removeOrphanedBundles(tmp);
    expect((await readdir(tmp)).sort()).toEqual([
      `proctor-workflows-${process.pid}-def`,
      'proctor-workflows-xyz',
      'unrelated-dir',
    ]);
  });
});
