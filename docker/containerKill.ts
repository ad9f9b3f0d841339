/**
 * Killing a short-lived container from outside (a wall clock run out, a stop, a flood of output):
 * SIGKILL, which no program can catch. One that has exited already was not killed, and the caller
 * is told so, since its own exit is then the result. One the engine will not kill is removed by
 * force, which ends it too, so a caller waiting on it is never left waiting.
 */
import type Dockerode from 'dockerode';
import { dockerStatus } from './engine';

/** Resolves false when the container had exited already (nothing was killed), true otherwise. */
export async function killContainer(container: Dockerode.Container): Promise<boolean> {
  try {
    await container.kill({ signal: 'SIGKILL' });
    return true;
  } catch (error) {
    // 409: not running; 304: already stopping or stopped.
    if (dockerStatus(error) === 409 || dockerStatus(error) === 304) return false;
    await container.remove({ force: true }).catch(() => {});
    return true;
  }
}
