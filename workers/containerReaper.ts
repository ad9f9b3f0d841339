/**
 * Removes this host's model containers and container jobs whose run has ended. The workflow removes its container
 * itself; this catches what a crash left behind (a worker killed between start and removal, or a
 * removal that gave up while the host was down), at start-up and then every so often.
 */
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { isRunActive } from '../db/queries/runRecords';
import { reapServingContainers } from '../docker/containerRunner';

export interface ContainerReaper {
  /** One sweep now; resolves with the number of containers removed. */
  sweep(): Promise<number>;
  stop(): void;
}

export function startContainerReaper(o: {
  db: Db;
  docker: Dockerode;
  hostId: string;
  logger: Logger;
  intervalMs: number;
}): ContainerReaper {
  const sweep = async (): Promise<number> => {
    try {
      // A container whose run is unknown to this database is not ours to keep.
      const removed = await reapServingContainers(o.docker, o.hostId, (runId) => isRunActive(o.db, runId), {
        onUndecided: (runId, error) =>
          o.logger.warn({ err: error, runId }, "could not tell whether a container's run is still active; kept it"),
      });
      if (removed.length > 0) o.logger.info({ removed }, 'removed containers of ended runs');
      return removed.length;
    } catch (error) {
      o.logger.warn({ err: error }, 'container sweep failed; will try again');
      return 0;
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), o.intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
