/**
 * The real flageval-serving package (PyPI, pinned in requirements.txt) in a virtual environment,
 * made once per set of pins under ~/.cache/proctor and reused: the tests run users' service.py
 * files under its dev server to compare with Proctor's serving image. Made in a scratch directory
 * and renamed into place, so two test files asking at once never see half an environment.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REQUIREMENTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'requirements.txt');

export interface FlagevalServingVenv {
  dir: string;
  /** Runs the package's CLI: `python -m flageval.serving …` (a moved venv's scripts name the old path). */
  python: string;
}

export async function ensureFlagevalServingVenv(): Promise<FlagevalServingVenv> {
  const pins = await readFile(REQUIREMENTS);
  const key = createHash('sha256').update(pins).digest('hex').slice(0, 12);
  const root = path.join(os.homedir(), '.cache', 'proctor');
  const dir = path.join(root, `flageval-serving-${key}`);
  const venv = { dir, python: path.join(dir, 'bin', 'python') };
  if (await exists(path.join(dir, 'ready'))) return venv;

  await mkdir(root, { recursive: true });
  const scratch = path.join(root, `.flageval-serving-${randomUUID()}`);
  try {
    await run('python3', ['-m', 'venv', scratch], { timeout: 120_000 });
    await run(
      path.join(scratch, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', REQUIREMENTS],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
    await run(path.join(scratch, 'bin', 'python'), ['-c', 'import flageval.serving.service.nlp, flask, gunicorn'], {
      timeout: 60_000,
    });
    await writeFile(path.join(scratch, 'ready'), `${new Date().toISOString()}\n`);
    await rename(scratch, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process got there first: its environment is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return venv;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
