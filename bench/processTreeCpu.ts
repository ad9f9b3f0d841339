/**
 * CPU seconds of a server and its child processes, from /proc. PostgreSQL runs one backend process
 * per connection: a backend's time shows in its own /proc entry while it lives and in the
 * postmaster's cutime/cstime once it has exited and been reaped, so a server's total is the root's
 * own and reaped children's time plus every live child's own time.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

function readStat(pid: number): Stat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state ppid … utime(14) stime(15) cutime(16) cstime(17), counted from 1.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      utime: Number(f[11]),
      stime: Number(f[12]),
      cutime: Number(f[13]),
      cstime: Number(f[14]),
    };
  } catch {
    return null;
  }
}

/** CPU seconds used so far by `rootPid` and all processes below it, the reaped ones included. */
export function treeCpuSeconds(rootPid: number): number {
  const stats = new Map<number, Stat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) stats.set(Number(entry), s);
  }
  const root = stats.get(rootPid);
  if (!root) throw new Error(`process ${rootPid} is gone`);
  let ticks = root.utime + root.stime + root.cutime + root.cstime;
  const below = [rootPid];
  while (below.length > 0) {
    const parent = below.pop()!;
    for (const [pid, s] of stats) {
      if (s.ppid !== parent) continue;
      ticks += s.utime + s.stime;
      below.push(pid);
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** The postmaster's PID, from the first line of postmaster.pid in the cluster directory. */
export function postmasterPid(pgdata: string): number {
  return Number(readFileSync(`${pgdata}/postmaster.pid`, 'utf8').split('\n')[0]);
}

/** VmHWM / VmRSS of a process, in bytes. */
export function memoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}
