/**
 * The model containers one host started, found by their labels, and the reaper that removes those,
 * and the host's container jobs, whose run has ended: run at worker start-up and periodically, so a
 * worker that crashed between starting a container and removing it leaves nothing running for long.
 */
import type Dockerode from 'dockerode';
import { LABEL_HOST, LABEL_ROLE, LABEL_RUN, SERVING_ROLE } from './containerSpec';
import { JOB_ROLE } from './containerJobSpec';
import { removeContainer } from './containerRemoval';

export interface ServingContainer {
  id: string;
  name: string;
  runId: string;
  /** The engine's state: running, exited, created, … */
  state: string;
  createdAt: Date;
}

/** This host's containers of one role: model servers unless another is named. */
export async function listServingContainers(
  docker: Dockerode,
  o: { hostId: string; role?: string },
): Promise<ServingContainer[]> {
  const found = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_ROLE}=${o.role ?? SERVING_ROLE}`, `${LABEL_HOST}=${o.hostId}`] },
  });
  return found.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    runId: c.Labels[LABEL_RUN] ?? '',
    state: c.State,
    createdAt: new Date(c.Created * 1000),
  }));
}

export interface ReapOptions {
  /** Told of a run whose activity could not be decided; its containers are left alone this time. */
  onUndecided?: (runId: string, error: unknown) => void;
}

/**
 * Removes this host's model containers and container jobs whose run is no longer active; resolves
 * with those removed. A sandbox has no run to ask about: codeSandbox.ts reaps those by age.
 */
export async function reapServingContainers(
  docker: Dockerode,
  hostId: string,
  isRunActive: (runId: string) => Promise<boolean>,
  o: ReapOptions = {},
): Promise<{ runId: string; containerId: string }[]> {
  const removed: { runId: string; containerId: string }[] = [];
  const verdicts = new Map<string, Promise<boolean>>();
  const containers = [
    ...(await listServingContainers(docker, { hostId })),
    ...(await listServingContainers(docker, { hostId, role: JOB_ROLE })),
  ];
  for (const container of containers) {
    if (!verdicts.has(container.runId)) verdicts.set(container.runId, isRunActive(container.runId));
    let active: boolean;
    try {
      active = await verdicts.get(container.runId)!;
    } catch (error) {
      // In doubt (the database is away), keep it: removing a live run's model is the worse mistake.
      o.onUndecided?.(container.runId, error);
      continue;
    }
    if (active) continue;
    await removeContainer(docker, container.id);
    removed.push({ runId: container.runId, containerId: container.id });
  }
  return removed;
}
