/**
 * Where a container stands, read from the engine: running or not, how it exited, and for a caller
 * whose requests to the model began to fail, an error that says so with the model's last words.
 */
import type Dockerode from 'dockerode';
import { containerLogs } from './containerLogs';
import { ContainerExitedError, type ContainerExitInfo } from './containerErrors';
import { dockerStatus } from './engine';

export async function inspectContainer(
  docker: Dockerode,
  idOrName: string,
): Promise<Dockerode.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(idOrName).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return null;
    throw error;
  }
}

/** `missing: true` once the container has been removed. */
export async function containerExitInfo(docker: Dockerode, id: string): Promise<ContainerExitInfo> {
  const info = await inspectContainer(docker, id);
  if (!info)
    return {
      missing: true,
      running: false,
      status: 'missing',
      exitCode: null,
      oomKilled: false,
      error: null,
      finishedAt: null,
    };
  const s = info.State;
  const finishedAt = s.Running || !s.FinishedAt || s.FinishedAt.startsWith('0001-') ? null : s.FinishedAt;
  return {
    missing: false,
    running: s.Running,
    status: s.Status,
    // A container created but never started has no exit code worth reporting.
    exitCode: s.Running || finishedAt === null ? null : s.ExitCode,
    oomKilled: s.OOMKilled,
    error: s.Error ? s.Error : null,
    finishedAt,
  };
}

/**
 * A ContainerExitedError with the exit code and the last log lines if the container has stopped;
 * null while it still runs (the failure lies elsewhere).
 */
export async function containerExitError(
  docker: Dockerode,
  id: string,
  during: string,
  tail = 20,
): Promise<ContainerExitedError | null> {
  const info = await containerExitInfo(docker, id);
  if (info.running) return null;
  const lines = info.missing ? [] : await containerLogs(docker, id, { tail }).catch(() => []);
  return new ContainerExitedError(
    info,
    lines.map((l) => l.line),
    during,
  );
}
