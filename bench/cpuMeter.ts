/** CPU seconds used during a stretch of time by the processes that matter, and by the machine as a whole. */
import os from 'node:os';
import { machineCpuTicks, procCpuSeconds } from './benchStack';

export interface CpuUse {
  wallSeconds: number;
  /** CPU seconds per named process. */
  byProcess: Record<string, number>;
  /** Busy fraction of all cores together, 0–1. */
  machineBusy: number;
}

export function startCpuMeter(pids: Record<string, number | undefined>): { stop(): CpuUse } {
  const t = performance.now();
  const self0 = process.cpuUsage();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid ? procCpuSeconds(pid) : 0]));
  const machine0 = machineCpuTicks();
  return {
    stop() {
      const self = process.cpuUsage(self0);
      const machine1 = machineCpuTicks();
      const byProcess: Record<string, number> = { 'bench process (API, polling)': (self.user + self.system) / 1e6 };
      for (const [name, pid] of Object.entries(pids)) {
        try {
          byProcess[name] = pid ? procCpuSeconds(pid) - before[name]! : 0;
        } catch {
          byProcess[name] = NaN;
        }
      }
      return {
        wallSeconds: (performance.now() - t) / 1000,
        byProcess,
        machineBusy: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
      };
    },
  };
}

export function describeCpu(use: CpuUse): string[] {
  const cores = os.cpus().length;
  return [
    `CPU over ${use.wallSeconds.toFixed(1)} s: machine ${(use.machineBusy * 100).toFixed(0)} % busy of ${cores} cores; ` +
      Object.entries(use.byProcess)
        .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
        .join(', '),
  ];
}
