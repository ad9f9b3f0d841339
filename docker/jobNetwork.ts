/**
 * How a container job reaches a server the platform runs for it on the same host (the multimodal
 * data server, the custom images' inference proxy), following the host's container network
 * setting (`PROCTOR_CONTAINER_NETWORK`): with `host` the job shares the host's network and the
 * server listens on loopback; with `bridge` the job sees no host service but the engine's bridge
 * gateway, which is where the server listens (docs/threat-model.md, gap 1).
 */
import type Dockerode from 'dockerode';
import { dockerStatus } from './engine';

export interface JobNetwork {
  mode: 'host' | 'bridge';
  /** The address the server listens on, and the one the job is told. */
  listenHost: string;
}

export class JobNetworkError extends Error {
  override name = 'JobNetworkError';
}

export async function jobNetwork(docker: Dockerode, mode: 'host' | 'bridge'): Promise<JobNetwork> {
  if (mode === 'host') return { mode, listenHost: '127.0.0.1' };
  let info: Dockerode.NetworkInspectInfo;
  try {
    info = (await docker.getNetwork('bridge').inspect()) as Dockerode.NetworkInspectInfo;
  } catch (error) {
    if (dockerStatus(error) !== 404) throw error;
    throw new JobNetworkError(
      'PROCTOR_CONTAINER_NETWORK is bridge but the Docker engine has no bridge network (is dockerd run with --bridge=none?); ' +
        'give the engine a bridge, or set PROCTOR_CONTAINER_NETWORK=host',
    );
  }
  const gateway = info.IPAM?.Config?.map((c) => c.Gateway).find((g): g is string => !!g && !g.includes(':'));
  if (!gateway)
    throw new JobNetworkError(
      'the Docker engine\'s bridge network has no IPv4 gateway for a job to reach this host by; check "docker network inspect bridge"',
    );
  return { mode, listenHost: gateway };
}
