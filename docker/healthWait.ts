/**
 * Waiting for a started model to be ready: GET /health until it answers 200 (or 404, from a server
 * that has no health route but answers), with back-off. The container is watched meanwhile, so a
 * service that crashes while loading fails the wait at once with its exit code and traceback
 * instead of after the whole timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { containerLogs, type ContainerLogLine } from './containerLogs';
import { ContainerExitedError, ContainerHealthTimeoutError } from './containerErrors';
import { containerExitInfo } from './containerState';

export interface WaitHealthyOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Receives the container's new log lines as they appear (e.g. to store them as the run's logs). */
  onLogs?: (lines: ContainerLogLine[]) => void | Promise<void>;
  /** Longest pause between two probes. */
  maxIntervalMs?: number;
}

const FIRST_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 2_000;
const TAIL_LINES = 20;

export async function waitHealthy(
  docker: Dockerode,
  containerId: string,
  baseUrl: string,
  o: WaitHealthyOptions,
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const maxInterval = o.maxIntervalMs ?? 2_000;
  let interval = FIRST_INTERVAL_MS;
  let lastTimestamp: string | undefined;
  const forwardLogs = async () => {
    if (!o.onLogs) return;
    const lines = await containerLogs(docker, containerId, lastTimestamp ? { after: lastTimestamp } : {});
    if (lines.length === 0) return;
    lastTimestamp = lines[lines.length - 1]!.timestamp || lastTimestamp;
    await o.onLogs(lines);
  };
  const tail = async () =>
    (await containerLogs(docker, containerId, { tail: TAIL_LINES }).catch(() => [])).map((l) => l.line);

  for (;;) {
    throwIfAborted(o.signal);
    const state = await containerExitInfo(docker, containerId);
    if (!state.running) {
      await forwardLogs().catch(() => {});
      throw new ContainerExitedError(state, await tail(), 'before the model was ready');
    }
    // A full probe even near the deadline: a probe cut short would report our impatience, not the model.
    const answer = await probe(`${baseUrl}/health`, PROBE_TIMEOUT_MS, o.signal);
    await forwardLogs();
    // A server with no health route (flageval-serving's own, in a user's image) answers 404 once it
    // listens, and it listens only after global_init: it is ready (docs/uploads.md).
    if (answer === 'HTTP 200' || answer === 'HTTP 404') return;
    const left = deadline - Date.now();
    if (left <= 0) throw new ContainerHealthTimeoutError(o.timeoutMs, answer, await tail());
    try {
      await sleep(Math.min(interval, left), undefined, { signal: o.signal });
    } catch {
      throwIfAborted(o.signal);
    }
    interval = Math.min(interval * 1.5, maxInterval);
  }
}

/** "HTTP 200", "HTTP 503", or why no answer came. */
async function probe(url: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    await response.arrayBuffer().catch(() => {});
    return `HTTP ${response.status}`;
  } catch (error) {
    throwIfAborted(signal);
    if (timeout.aborted) return `no answer within ${timeoutMs} ms`;
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    return typeof code === 'string' ? code : (error as Error).message;
  }
}

/** The signal's own reason (an activity's cancellation, say) rather than an error of our making. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  if (signal.reason instanceof Error) throw signal.reason;
  const error = new Error('the wait for the model to be ready was cancelled');
  error.name = 'AbortError';
  throw error;
}
