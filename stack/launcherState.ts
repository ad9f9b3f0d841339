/**
 * What a running launcher started, in `<dataDir>/launcher.json`, so that after a launcher was killed
 * outright (SIGKILL, a closed laptop lid) the next start can stop its leftovers instead of tripping
 * over ports they still hold. PIDs are checked against the process's command line before anything
 * is signalled, so a reused PID is never touched.
 */
import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive, stopProcess } from './stopProcess';

interface TrackedProcess {
  name: string;
  pid: number;
  /** A string the process's command line contains (its entry file, its data file). */
  marker: string;
}

interface StateFile {
  launcher: TrackedProcess;
  processes: TrackedProcess[];
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

function isTracked(p: { pid: number; marker: string }): boolean {
  if (!isProcessAlive(p.pid)) return false;
  const cmd = commandLine(p.pid);
  return cmd === undefined || cmd.includes(p.marker);
}

export class LauncherState {
  private readonly file: string;
  private readonly state: StateFile = {
    launcher: { name: 'launcher', pid: process.pid, marker: path.basename(process.argv[1] ?? 'start.ts') },
    processes: [],
  };

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'launcher.json');
  }

  /** Refuses to start beside a live launcher; stops what a dead one left running. */
  async takeOver(log: (line: string) => void): Promise<void> {
    let previous: StateFile;
    try {
      previous = JSON.parse(readFileSync(this.file, 'utf8')) as StateFile;
    } catch {
      return;
    }
    if (previous.launcher.pid !== process.pid && isTracked(previous.launcher)) {
      throw new Error(
        `Proctor is already running from this data directory (launcher pid ${previous.launcher.pid}); stop it first or set PROCTOR_DATA_DIR`,
      );
    }
    for (const p of [...previous.processes].reverse()) {
      if (!isTracked(p)) continue;
      log(`Stopping ${p.name} (pid ${p.pid}) left running by an earlier start`);
      await stopProcess(p.pid, { group: true, graceMs: 10_000 });
    }
    await rm(this.file, { force: true });
  }

  async track(name: string, pid: number | undefined, marker: string): Promise<void> {
    if (pid === undefined) return;
    this.state.processes.push({ name, pid, marker });
    const scratch = `${this.file}.tmp`;
    await writeFile(scratch, JSON.stringify(this.state, null, 2));
    await rename(scratch, this.file);
  }

  /** After a clean stop nothing is left to take over (another launcher's file is left alone). */
  async clear(): Promise<void> {
    try {
      const current = JSON.parse(readFileSync(this.file, 'utf8')) as StateFile;
      if (current.launcher.pid === process.pid) await rm(this.file, { force: true });
    } catch {
      // no file: nothing to clear
    }
  }
}
