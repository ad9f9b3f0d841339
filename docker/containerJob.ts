/**
 * Running a container job (containerJobSpec.ts says what it may do) to completion and reading back
 * how it ended. The wall-clock limit is kept from outside: the host kills the container, whatever
 * the job does with its signals. An abort kills it at once. The container is removed on every path
 * out of here.
 *
 * Starting is idempotent by the container's name (run and job key): a worker killed mid-job leaves
 * the container under the engine, and the retried attempt adopts it instead of starting a second
 * one. It waits for a running one, and takes the result of one that has exited; the wall clock
 * counts from the container's own start, so adopting does not extend it. A job whose environment
 * held something that died with the earlier attempt (a proxy token) is adopted only once it has
 * exited 0; otherwise it is started afresh.
 */
import type Dockerode from 'dockerode';
import { formatDuration, trimLogLine } from './containerErrors';
import { killContainer } from './containerKill';
import { containerLogs } from './containerLogs';
import { removeContainer } from './containerRemoval';
import { inspectContainer } from './containerState';
import { containerJobName, containerJobSpec, jobLimits, type ContainerJobSpec } from './containerJobSpec';
import { dockerStatus, errorText } from './engine';

export type JobOutcome = 'succeeded' | 'failed' | 'timed_out' | 'out_of_memory';

export interface ContainerJobResult {
  outcome: JobOutcome;
  /** null when the engine reported none (the container never ran its process). */
  exitCode: number | null;
  /** How it ended, in words its owner can act on; a failure carries the job's last lines. */
  reason: string;
  /** The last lines of its output (stdout and stderr interleaved), each cut at a few hundred characters. */
  lastLines: string[];
  /** From the container's start to its exit, by the engine's clock. */
  durationMs: number;
  /** True when a container of an earlier attempt was found and its result taken. */
  adopted: boolean;
  containerId: string;
}

export interface ContainerJobOptions {
  /** Aborting kills the container, removes it and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Called while the job runs (every `collectEveryMs`) and once after it exits, before removal:
   * to copy its output somewhere. A failure is passed to `onCollectError` and the job goes on.
   */
  collect?: (containerId: string) => Promise<void>;
  collectEveryMs?: number;
  onCollectError?: (error: unknown) => void;
  /** Told of the job's container once it is found or created, before it is waited for. */
  onContainer?: (containerId: string, adopted: boolean) => void;
  /** How many of the last output lines a result keeps. */
  tailLines?: number;
  /**
   * An earlier attempt's container is adopted only when it exited 0 (its outputs stand); one still
   * running, never started, or ended any other way is removed and the job started afresh. For a job
   * whose environment held something that died with that attempt (a proxy token): from then on it
   * could only fail, and a failure seen after that attempt died may be the dead proxy's doing.
   */
  adoptOnlySucceeded?: boolean;
}

export class ContainerJobError extends Error {
  override name = 'ContainerJobError';
}

const CREATE_ATTEMPTS = 3;

export async function runContainerJob(
  docker: Dockerode,
  spec: ContainerJobSpec,
  o: ContainerJobOptions = {},
): Promise<ContainerJobResult> {
  const create = containerJobSpec(spec);
  const name = containerJobName(spec.runId, spec.jobKey);
  const limits = jobLimits(spec);
  o.signal?.throwIfAborted();

  const { id, adopted } = await findOrCreate(docker, name, create, o.adoptOnlySucceeded === true);
  o.onContainer?.(id, adopted);
  const container = docker.getContainer(id);
  let killedFor: 'timeout' | 'abort' | null = null;
  const kill = (why: 'timeout' | 'abort') => {
    if (killedFor !== null) return;
    killedFor = why;
    void killContainer(container).then((killed) => {
      // It had exited already: its own exit is the result, unless the job was stopped.
      if (!killed && killedFor === 'timeout') killedFor = null;
    });
  };
  const onAbort = () => kill('abort');
  let timer: NodeJS.Timeout | undefined;
  let collecting: NodeJS.Timeout | undefined;
  let collection: Promise<void> = Promise.resolve();
  const collect = () => {
    if (!o.collect) return collection;
    collection = collection.then(() => o.collect!(id)).catch((error: unknown) => o.onCollectError?.(error));
    return collection;
  };

  try {
    let state = (await container.inspect()).State;
    if (!state.Running && neverStarted(state)) {
      await container.start().catch((error: unknown) => {
        if (dockerStatus(error) !== 304) throw error;
      });
      state = (await container.inspect()).State;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the container was being created or started: no event is coming for that.
    if (o.signal?.aborted) kill('abort');
    if (state.Running) {
      const startedAt = Date.parse(state.StartedAt);
      timer = setTimeout(() => kill('timeout'), Math.max(0, startedAt + limits.timeoutMs - Date.now()));
      if (o.collect) collecting = setInterval(() => void collect(), o.collectEveryMs ?? 5_000);
    }
    await container.wait();
    clearTimeout(timer);
    clearInterval(collecting);
    o.signal?.removeEventListener('abort', onAbort);
    await collect();
    if (killedFor === 'abort') throw o.signal?.reason ?? new ContainerJobError(`the job ${name} was stopped`);

    const info = await inspectContainer(docker, id);
    if (!info) throw new ContainerJobError(`the job's container ${name} was removed before its result was read`);
    const lines = await containerLogs(docker, id, { tail: o.tailLines ?? 20 }).catch(() => []);
    return judge({
      name,
      state: info.State,
      timeoutMs: limits.timeoutMs,
      memoryMb: limits.memoryMb,
      killedForTimeout: killedFor === 'timeout',
      lastLines: lines.map((l) => trimLogLine(l.line)),
      adopted,
      containerId: id,
    });
  } catch (error) {
    // Stopped: whatever the engine said as the container went (it may have been removed by force).
    if (killedFor === 'abort') throw o.signal?.reason ?? error;
    if (error instanceof ContainerJobError) throw error;
    throw new ContainerJobError(`the job ${name} failed on the Docker host: ${errorText(error)}`);
  } finally {
    clearTimeout(timer);
    clearInterval(collecting);
    o.signal?.removeEventListener('abort', onAbort);
    await removeContainer(docker, id, 0);
  }
}

/** The job's container: the one an earlier attempt left (adopted), else a new one. */
async function findOrCreate(
  docker: Dockerode,
  name: string,
  create: Dockerode.ContainerCreateOptions,
  adoptOnlySucceeded: boolean,
): Promise<{ id: string; adopted: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const existing = await inspectContainer(docker, name);
    if (existing && adoptOnlySucceeded && !exitedCleanly(existing.State)) {
      if (attempt > CREATE_ATTEMPTS)
        throw new ContainerJobError(`could not replace the earlier attempt's container ${name}: it would not go`);
      await killContainer(docker.getContainer(existing.Id));
      await removeContainer(docker, existing.Id, 0);
      continue;
    }
    if (existing) return { id: existing.Id, adopted: true };
    try {
      return { id: (await docker.createContainer(create)).id, adopted: false };
    } catch (error) {
      // Another attempt of the same job created it a moment ago: look again and adopt that one.
      if (dockerStatus(error) === 409 && attempt < CREATE_ATTEMPTS) continue;
      if (dockerStatus(error) === 404)
        throw new ContainerJobError(
          `the job image ${create.Image} is not on this Docker host (${errorText(error)}); ensure the image first`,
        );
      throw new ContainerJobError(`could not create the job's container ${name}: ${errorText(error)}`);
    }
  }
}

function exitedCleanly(state: Dockerode.ContainerInspectInfo['State']): boolean {
  return state.Status === 'exited' && !neverStarted(state) && state.ExitCode === 0 && !state.OOMKilled;
}

function neverStarted(state: Dockerode.ContainerInspectInfo['State']): boolean {
  return state.Status === 'created' || !state.StartedAt || state.StartedAt.startsWith('0001-');
}

function judge(r: {
  name: string;
  state: Dockerode.ContainerInspectInfo['State'];
  timeoutMs: number;
  memoryMb: number;
  killedForTimeout: boolean;
  lastLines: string[];
  adopted: boolean;
  containerId: string;
}): ContainerJobResult {
  const { state } = r;
  const exitCode = neverStarted(state) ? null : state.ExitCode;
  const durationMs = Math.max(0, Date.parse(state.FinishedAt) - Date.parse(state.StartedAt)) || 0;
  // An adopted job killed by an attempt that died before removing it: its run time says why.
  const timedOut =
    r.killedForTimeout || (exitCode === 137 && !state.OOMKilled && durationMs >= r.timeoutMs && r.adopted);
  let outcome: JobOutcome;
  let reason: string;
  if (exitCode === 0 && !timedOut) {
    outcome = 'succeeded';
    reason = 'the job exited with code 0';
  } else if (timedOut) {
    outcome = 'timed_out';
    reason = `the job did not finish within its wall-clock limit of ${formatDuration(r.timeoutMs)} and was killed`;
  } else if (state.OOMKilled) {
    outcome = 'out_of_memory';
    reason = `the job was killed for using more memory than its limit of ${r.memoryMb} MB (OOMKilled); raise the limit or make the job use less`;
  } else {
    outcome = 'failed';
    reason = `the job exited with code ${exitCode ?? 'unknown'}`;
    if (state.Error) reason += `; the engine said: ${state.Error}`;
  }
  if (outcome !== 'succeeded')
    reason +=
      r.lastLines.length === 0 ? '. It wrote no output.' : `. Its last lines of output:\n${r.lastLines.join('\n')}`;
  return {
    outcome,
    exitCode,
    reason,
    lastLines: r.lastLines,
    durationMs,
    adopted: r.adopted,
    containerId: r.containerId,
  };
}
