/** The containers the Docker engine still has for a run (every kind: model servers, jobs, sandboxes). */
import type Dockerode from 'dockerode';
import { LABEL_RUN } from '../../docker/containerSpec';

export async function containersOfRun(docker: Dockerode, runId: string): Promise<string[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
  return listed.map((c) => c.Id);
}
