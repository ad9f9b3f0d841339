/**
 * A TypeScript entry point run as a child process of the launcher, its output streamed line by line
 * with the child's name in front. It leads its own process group, so Ctrl-C in a terminal reaches
 * only the launcher, which then stops the children in order.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stopProcess } from './stopProcess';

export interface SupervisedProcessOptions {
  name: string;
  /** A .ts file, run with `node --import tsx`. */
  file: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Called once if the process exits before `stop` was called. */
  onUnexpectedExit(reason: string): void;
  /** How long SIGTERM gets before SIGKILL. */
  graceMs?: number;
}

export interface SupervisedProcess {
  name: string;
  pid: number | undefined;
  stop(): Promise<void>;
  /** SIGKILL without waiting: for a launcher that is itself exiting. */
  killNow(): void;
}

const COLOURS = [36, 35, 33, 32, 34];
let started = 0;

export function startSupervisedProcess(options: SupervisedProcessOptions): SupervisedProcess {
  const colour = COLOURS[started++ % COLOURS.length];
  const label = process.stdout.isTTY ? `\x1b[${colour}m[${options.name}]\x1b[0m` : `[${options.name}]`;
  const child = spawn(process.execPath, ['--import', 'tsx', options.file, ...(options.args ?? [])], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
      process.stdout.write(`${label} ${line}\n`),
    );
  }

  let stopping = false;
  let exited = false;
  child.on('error', (error) => {
    exited = true;
    if (!stopping) options.onUnexpectedExit(`${options.name} could not be started: ${error.message}`);
  });
  child.on('exit', (code, signal) => {
    exited = true;
    if (!stopping) options.onUnexpectedExit(`${options.name} exited unexpectedly (${signal ?? `code ${code}`})`);
  });

  return {
    name: options.name,
    pid: child.pid,
    async stop() {
      stopping = true;
      if (!exited && child.pid) await stopProcess(child.pid, { group: true, graceMs: options.graceMs ?? 20_000 });
    },
    killNow() {
      stopping = true;
      if (!exited && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
