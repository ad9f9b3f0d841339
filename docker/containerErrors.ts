/**
 * Why a model container could not serve, in words its owner can act on. The error names are
 * stable: activities list them as non-retryable where retrying cannot help (a crashing service.py
 * crashes again), and the run's failure reason is the message.
 */

export interface ContainerExitInfo {
  /** True when the engine knows no such container (it was removed). */
  missing: boolean;
  running: boolean;
  /** The engine's state: created, running, exited, dead, … ("missing" when it does not exist). */
  status: string;
  exitCode: number | null;
  oomKilled: boolean;
  /** The engine's own error, e.g. when the entrypoint could not be executed. */
  error: string | null;
  finishedAt: string | null;
}

const MAX_LINE_CHARS = 500;

/** A log line cut to a length a failure message can carry. */
export function trimLogLine(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
}

function logTail(lines: string[]): string {
  if (lines.length === 0) return ' It wrote no log lines.';
  const shown = lines.map(trimLogLine);
  return ` Its last log lines:\n${shown.join('\n')}`;
}

export function describeExit(info: ContainerExitInfo): string {
  if (info.missing) return 'the model container is gone (it was removed)';
  const parts = [`the model container exited with code ${info.exitCode ?? 'unknown'}`];
  if (info.oomKilled)
    parts.push(
      'it was killed for using more memory than its limit (OOMKilled); raise the memory limit or serve a smaller model',
    );
  if (info.error) parts.push(`the engine said: ${info.error}`);
  if (info.exitCode === 137 && !info.oomKilled) parts.push('it was killed (SIGKILL)');
  return parts.join('; ');
}

/** The container stopped while it should have been serving. */
export class ContainerExitedError extends Error {
  override name = 'ContainerExitedError';

  constructor(
    readonly info: ContainerExitInfo,
    readonly lastLines: string[],
    during: string,
  ) {
    super(`${describeExit(info)} ${during}.${logTail(lastLines)}`);
  }
}

/** The container kept running but its model never answered /health in time. */
export class ContainerHealthTimeoutError extends Error {
  override name = 'ContainerHealthTimeoutError';

  constructor(
    readonly timeoutMs: number,
    readonly lastAnswer: string,
    readonly lastLines: string[],
  ) {
    super(
      `the model did not become ready within ${formatDuration(timeoutMs)}: GET /health never answered 200 (last answer: ${lastAnswer}). ` +
        `Is global_init still loading, or stuck?${logTail(lastLines)}`,
    );
  }
}

export class ContainerStartError extends Error {
  override name = 'ContainerStartError';
}

export class ImagePullError extends Error {
  override name = 'ImagePullError';
}

/** The image is larger than the platform takes: pulling it again will not help. */
export class ImageTooLargeError extends ImagePullError {
  override name = 'ImageTooLargeError';
}

export function formatDuration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
