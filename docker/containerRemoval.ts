import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { dockerStatus } from './engine';

/**
 * Stops a container with a short grace, then removes it with its anonymous volumes. A container
 * that is already gone counts as removed, so removing twice (a retried activity, the reaper and
 * the workflow at once) is harmless.
 */
export async function removeContainer(docker: Dockerode, idOrName: string, graceSeconds = 3): Promise<void> {
  const container = docker.getContainer(idOrName);
  try {
    await container.stop({ t: graceSeconds });
  } catch (error) {
    // 304: not running; 404: gone already.
    if (dockerStatus(error) !== 304 && dockerStatus(error) !== 404) throw error;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await container.remove({ force: true, v: true });
      return;
    } catch (error) {
      if (dockerStatus(error) === 404) return;
      // 409: another caller's removal is under way; wait for it to finish.
      if (dockerStatus(error) !== 409) throw error;
      await sleep(100);
    }
  }
  throw new Error(`the container ${idOrName} is still being removed after 5 s`);
}
