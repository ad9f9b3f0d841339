/** How the CLI shows what the server answered: a stored version with its check, a listing, progress. */
import type { UploadEntry, UploadVersionView } from '../contracts/upload';

export function describeVersion(view: UploadVersionView): string {
  const origin = view.kind === 'upload' ? '' : ` (${view.kind} on top of version ${view.derivedFrom})`;
  const lines = [
    `Stored version ${view.version} of evaluation ${view.evaluationId}${origin}: ${view.files.toLocaleString('en-US')} files, ${formatSize(view.bytes)}.`,
  ];
  const check = view.check;
  if (check.ok) {
    const scale =
      check.parameterScaleBillion === null
        ? ''
        : ` (${check.parameterScaleBillion}B parameters: at most ${check.maxGpus} GPU${check.maxGpus === 1 ? '' : 's'})`;
    lines.push(`Layout check (${check.domain}): ok${scale}.`);
  } else {
    lines.push(
      `Layout check (${check.domain}): ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} to fix before launching:`,
    );
    for (const problem of check.problems)
      lines.push(`  - ${problem.path || '(root)'} [${problem.rule}]: ${problem.message}`);
  }
  return lines.join('\n');
}

export function describeEntries(entries: UploadEntry[]): string {
  if (entries.length === 0) return '(empty directory)';
  return entries
    .map(
      (e) =>
        `${e.type.padEnd(7)} ${(e.type === 'file' ? formatSize(e.size) : '-').padStart(10)}  ${e.mtime.slice(0, 19).replace('T', ' ')}  ${e.path}${e.type === 'dir' ? '/' : ''}`,
    )
    .join('\n');
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A progress line rewritten in place on a terminal, at most five times a second; silent elsewhere. */
export function progressLine(
  stream: NodeJS.WriteStream,
  totalBytes: number,
): { update(sent: number): void; done(): void } {
  if (!stream.isTTY) return { update() {}, done() {} };
  let shownAt = 0;
  let shown = false;
  let last = 0;
  const show = (sent: number) => {
    const percent = totalBytes > 0 ? ` (${Math.min(100, Math.floor((sent / totalBytes) * 100))}%)` : '';
    stream.write(`\rsent ${formatSize(sent)} of about ${formatSize(totalBytes)}${percent}   `);
    shown = true;
  };
  return {
    update(sent) {
      last = sent;
      const now = Date.now();
      if (now - shownAt < 200) return;
      shownAt = now;
      show(sent);
    },
    done() {
      if (!shown) return;
      show(last);
      stream.write('\n');
    },
  };
}
