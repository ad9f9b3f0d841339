/**
 * The workflow code a worker runs, bundled in a short-lived child process rather than inside the
 * worker: webpack's working set (about 170 MiB) then leaves with the child instead of staying in
 * the worker's heap for its whole life (bench/README.md, worker RSS). PROCTOR_WORKFLOW_BUNDLE
 * skips the step with a bundle built beforehand (`npm run bundle:workflows -- FILE`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLER = fileURLToPath(new URL('./bundleWorkflows.ts', import.meta.url));

export interface WorkflowBundle {
  codePath: string;
  /** Removes a bundle this process built; leaves a prebuilt one alone. */
  dispose(): Promise<void>;
}

const DIR_PREFIX = 'proctor-workflows-';

export async function workflowBundle(env: NodeJS.ProcessEnv = process.env): Promise<WorkflowBundle> {
  const prebuilt = env.PROCTOR_WORKFLOW_BUNDLE;
  if (prebuilt) return { codePath: path.resolve(prebuilt), dispose: async () => {} };
  await removeOrphanedBundles(os.tmpdir());
  // Named for this process, so a later start can tell a killed worker's leftover from a live one's.
  const dir = await mkdtemp(path.join(os.tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const codePath = path.join(dir, 'workflows.js');
  try {
    await runBundler(codePath);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { codePath, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Bundles of worker processes that are gone (a SIGKILL leaves its bundle behind). */
export async function removeOrphanedBundles(tmp: string): Promise<void> {
  const names = await readdir(tmp).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(/^proctor-workflows-(\d+)-/.exec(name)?.[1]);
      if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) return;
      await rm(path.join(tmp, name), { recursive: true, force: true });
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runBundler(out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BUNDLER, out], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`bundling the workflow code failed (${signal ?? `exit code ${code}`}):\n${stderr}`)),
    );
  });
}
