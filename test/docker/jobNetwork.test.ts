/**
 * Where a container job reaches the servers its host runs for it, against the real engine: loopback
 * with host networking; with bridge networking the engine's bridge gateway, or, on an engine that
 * has no bridge (dockerd --bridge=none, as the one-machine stack runs it), a refusal that says so
 * and what to change.
 */
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { jobNetwork, JobNetworkError } from '../../docker/jobNetwork';
import { requireEnv } from '../support/env';

const docker = connectDocker(requireEnv('DOCKER_HOST'));

describe('jobNetwork', () => {
  it('listens on loopback for jobs on the host network', async () => {
    expect(await jobNetwork(docker, 'host')).toEqual({ mode: 'host', listenHost: '127.0.0.1' });
  });

  it("listens on the bridge's IPv4 gateway for bridged jobs, or says the engine has no bridge", async () => {
    const bridge = (await docker.listNetworks()).find((n) => n.Name === 'bridge');
    if (bridge) {
      const gateway = bridge.IPAM?.Config?.map((c) => c.Gateway).find((g) => g && !g.includes(':'));
      expect(await jobNetwork(docker, 'bridge')).toEqual({ mode: 'bridge', listenHost: gateway });
    } else {
      const refusal = await jobNetwork(docker, 'bridge').catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(JobNetworkError);
      expect((refusal as Error).message).toMatch(/no bridge network.*PROCTOR_CONTAINER_NETWORK=host/);
    }
  });
});
