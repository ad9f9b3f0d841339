/**
 * The container runner: one run's model-serving container started, watched, read and removed.
 * Starting is idempotent by the container's name (one per run), so an activity retried after a
 * worker crash picks up the container its first attempt started instead of starting another.
 * The rest of the runner lives in sibling modules and is re-exported here, its one front door.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { containerLogs } from './containerLogs';
import { ContainerStartError } from './containerErrors';
import { removeContainer } from './containerRemoval';
import { containerExitInfo, inspectContainer } from './containerState';
import { dockerStatus, errorText } from './engine';

export { containerLogs, type ContainerLogLine, type ContainerLogsOptions } from './containerLogs';
export { containerExitError, containerExitInfo } from './containerState';
export { removeContainer } from './containerRemoval';
export { waitHealthy, type WaitHealthyOptions } from './healthWait';
export { listServingContainers, reapServingContainers, type ServingContainer } from './servingContainers';
export { ensureImage } from './ensureImage';

/** The port the model listens on inside a bridge-networked container (flageval-serving's default). */
export const BRIDGE_CONTAINER_PORT = 5000;
const START_ATTEMPTS = 3;
const ADDRESS_IN_USE = /address already in use|address in use|EADDRINUSE/i;

/**
 * The container to create, given the port its model is to listen on: a host port for the host's
 * network, the container's own port for a bridge (see servingContainerSpec).
 */
export type ServingSpecBuilder = (port: number) => Dockerode.ContainerCreateOptions;

export interface StartServingOptions {
  /** Host network: serve on this port rather than a free one picked here. */
  port?: number;
  /** Host network: how to pick a port when none is given (a free loopback port by default). */
  pickPort?: () => Promise<number>;
  /** Host network: how long to watch a new container for a port clash before handing it over. */
  bindWindowMs?: number;
}

export interface StartedContainer {
  containerId: string;
  /** e.g. http://127.0.0.1:41234, where `/func` and `/health` answer. */
  baseUrl: string;
  /** False when a running container of this run was found and kept. */
  created: boolean;
}

export async function startServingContainer(
  docker: Dockerode,
  spec: ServingSpecBuilder,
  o: StartServingOptions = {},
): Promise<StartedContainer> {
  const shape = spec(BRIDGE_CONTAINER_PORT);
  const name = shape.name;
  if (!name)
    throw new ContainerStartError(
      'a serving container must have a name: starting it again relies on finding it by name',
    );
  const hostNetwork = shape.HostConfig?.NetworkMode === 'host';

  for (let attempt = 1; ; attempt++) {
    const existing = await inspectContainer(docker, name);
    if (existing?.State.Running) return { containerId: existing.Id, baseUrl: baseUrlOf(existing), created: false };
    // Exited, or created and never started: whoever needed its exit has seen it; start afresh.
    if (existing) await removeContainer(docker, existing.Id);

    const port = hostNetwork ? (o.port ?? (await (o.pickPort ?? freePort)())) : BRIDGE_CONTAINER_PORT;
    let container: Dockerode.Container;
    try {
      container = await docker.createContainer(spec(port));
    } catch (error) {
      // Another attempt of the same activity created it a moment ago: look again and take that one.
      if (dockerStatus(error) === 409 && attempt < START_ATTEMPTS) continue;
      if (dockerStatus(error) === 404)
        throw new ContainerStartError(
          `image ${shape.Image} is not on this Docker host (${errorText(error)}); ensure the image first`,
        );
      throw new ContainerStartError(`could not create the model container ${name}: ${errorText(error)}`);
    }
    try {
      await container.start();
    } catch (error) {
      if (dockerStatus(error) !== 304) {
        await removeContainer(docker, container.id).catch(() => {});
        throw new ContainerStartError(`could not start the model container ${name}: ${errorText(error)}`);
      }
    }

    if (
      hostNetwork &&
      o.port === undefined &&
      (await exitedOnPortClash(docker, container.id, o.bindWindowMs ?? 1_000))
    ) {
      await removeContainer(docker, container.id);
      if (attempt >= START_ATTEMPTS)
        throw new ContainerStartError(`the model container ${name} found its port taken ${attempt} times in a row`);
      continue;
    }
    return { containerId: container.id, baseUrl: baseUrlOf(await container.inspect()), created: true };
  }
}

/**
 * With the host's network, the port was free when picked, but another process may bind it before
 * the model does; the model then exits at once complaining of it, and another port is worth a try.
 */
async function exitedOnPortClash(docker: Dockerode, id: string, windowMs: number): Promise<boolean> {
  const deadline = Date.now() + windowMs;
  while (Date.now() < deadline) {
    const info = await containerExitInfo(docker, id);
    if (!info.running) {
      const lines = await containerLogs(docker, id, { tail: 50 }).catch(() => []);
      return lines.some((l) => ADDRESS_IN_USE.test(l.line));
    }
    await sleep(100);
  }
  return false;
}

function baseUrlOf(info: Dockerode.ContainerInspectInfo): string {
  const env = (info.Config.Env ?? []).find((e) => e.startsWith('PORT='));
  const port = env ? Number(env.slice('PORT='.length)) : BRIDGE_CONTAINER_PORT;
  if (info.HostConfig.NetworkMode === 'host') return `http://127.0.0.1:${port}`;
  const binding = info.NetworkSettings.Ports?.[`${port}/tcp`]?.find((b) => b.HostPort);
  if (!binding)
    throw new ContainerStartError(
      `the model container ${info.Name.replace(/^\//, '')} has no host port mapped for ${port}/tcp`,
    );
  return `http://127.0.0.1:${binding.HostPort}`;
}

/** A port nothing listens on right now on the loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
