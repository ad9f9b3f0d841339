/**
 * The workflow code a worker runs, bundled in a short-lived child process rather than inside the
 * worker: webpack's working set (about 170 MiB) then leaves with the child instead of staying in
 * the worker's heap for its whole life (bench/README.md, worker RSS). PROCTOR_WORKFLOW_BUNDLE
 * skips the step with a bundle built beforehand (`npm run bundle:workflows -- FILE`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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

export async function workflowBundle(env: NodeJS.ProcessEnv = process.env): Promise<WorkflowBundle> {
  const prebuilt = env.PROCTOR_WORKFLOW_BUNDLE;
  if (prebuilt) return { codePath: path.resolve(prebuilt), dispose: async () => {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-workflows-'));
  const codePath = path.join(dir, 'workflows.js');
  try {
    await runBundler(codePath);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { codePath, dispose: () => rm(dir, { recursive: true, force: true }) };
}

function runBundler(out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BUNDLER, out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`bundling the workflow code failed (${signal ?? `exit code ${code}`}):\n${stderr}`)),
    );
  });
}
