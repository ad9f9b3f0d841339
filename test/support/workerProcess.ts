/**
 * A worker as a real OS process (`workers/main.ts`), so tests can SIGKILL it mid-run the way a
 * crashed host would die: no shutdown hooks, no flushing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireEnv } from './env';

const WORKER_MAIN = fileURLToPath(new URL('../../workers/main.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(
  env: Record<string, string> = {},
  readyTimeoutMs = 120_000,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: requireEnv('DATABASE_URL'),
      TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
      TEMPORAL_NAMESPACE: requireEnv('TEMPORAL_NAMESPACE'),
      PROCTOR_SECRET_KEY: requireEnv('PROCTOR_SECRET_KEY'),
      PROCTOR_LOG_LEVEL: 'info',
      // Minutes of debootstrap in the background would slow every test that starts a worker; the
      // files that run fine-tuning jobs make the image first (test/support/backboneImage.ts).
      PROCTOR_BACKBONE_IMAGE_AT_START: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker did not start in ${readyTimeoutMs} ms:\n${log}`)),
      readyTimeoutMs,
    );
    const check = () => {
      if (log.includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before starting:\n${log}`));
    });
  });
  return {
    child,
    output: () => log,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
