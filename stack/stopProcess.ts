/**
 * Stopping processes by PID, including ones another process started (the test harness restarts
 * servers from inside test workers). A zombie counts as stopped: in containers nobody may reap it.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/PID/stat is the state; the command name before it may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export interface StopProcessOptions {
  /** How long SIGTERM gets before SIGKILL. */
  graceMs?: number;
  /** Signal the whole process group (for processes spawned `detached`, which lead their own group). */
  group?: boolean;
  /** The first signal; SIGINT suits servers that treat it as "shut down gracefully". */
  firstSignal?: NodeJS.Signals;
}

/** Sends SIGTERM (or `firstSignal`), then SIGKILL after the grace period; resolves once the process is gone. */
export async function stopProcess(pid: number, options: StopProcessOptions = {}): Promise<void> {
  const { graceMs = 10_000, group = false, firstSignal = 'SIGTERM' } = options;
  if (!isProcessAlive(pid)) return;
  signal(pid, firstSignal, group);
  if (await waitForExit(pid, graceMs)) return;
  signal(pid, 'SIGKILL', group);
  if (!(await waitForExit(pid, 5_000))) throw new Error(`process ${pid} did not exit after SIGKILL`);
}
