/** What every benchmark prints: the machine, the load around the run, and a table of figures. */
import os from 'node:os';

export interface Figure {
  figure: string;
  measured: string;
  baseline: string;
  /** measured / baseline, as a fraction; null when there is no baseline to divide by. */
  ratio: number | null;
  target: string;
  pass: boolean | null;
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

export function printTable(title: string, figures: Figure[], notes: string[] = []): void {
  const rows = [
    ['figure', 'measured', 'baseline / ideal', 'ratio', 'target', 'result'],
    ...figures.map((f) => [
      f.figure,
      f.measured,
      f.baseline,
      f.ratio === null ? '—' : `${(f.ratio * 100).toFixed(1)} %`,
      f.target,
      f.pass === null ? 'info' : f.pass ? 'PASS' : 'FAIL',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const out = [
    '',
    `## ${title}`,
    '',
    `machine: ${machine()}`,
    ...notes,
    '',
    line(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** `--name=value` arguments with numeric defaults. */
export function numberArg(name: string, fallback: number): number {
  const prefix = `--${name}=`;
  const raw = process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
  if (raw === undefined) return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`);
  return value;
}
