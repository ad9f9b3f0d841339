/**
 * What a model-serving container is allowed to be: the user's upload mounted read-only, an
 * unprivileged user, no capabilities, a read-only root with a small /tmp, fixed CPU, memory and
 * process limits, GPUs only when the run was granted them, and labels that let a host find (and
 * reap) the containers it started. Pure: the runner decides ports, this decides everything else.
 */
import type Dockerode from 'dockerode';

export const LABEL_RUN = 'proctor.run';
export const LABEL_HOST = 'proctor.host';
export const LABEL_ROLE = 'proctor.role';
export const SERVING_ROLE = 'model-serving';

const SERVING_USER = '65534:65534';
const PIDS_LIMIT = 4096;
const DEFAULT_TMP_MB = 64;

export interface ServingContainerInput {
  runId: string;
  hostId: string;
  imageRef: string;
  /** The upload version's directory on the Docker host; mounted at /workspace. */
  uploadDirOnHost: string;
  /** `host` shares the host's network (the model binds 127.0.0.1:port); `bridge` maps the port. */
  network: 'host' | 'bridge';
  /** The port the model listens on: on the host for `host`, inside the container for `bridge`. */
  port: number;
  cpus: number;
  memoryMb: number;
  gpu: { driver: string; count: number } | null;
  /** Size of the writable /tmp (counted against the memory limit). */
  tmpMb?: number;
}

export function servingContainerName(runId: string): string {
  return `proctor-run-${runId}`;
}

export function servingContainerSpec(input: ServingContainerInput): Dockerode.ContainerCreateOptions {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(input.runId))
    throw new Error(`run id ${JSON.stringify(input.runId)} cannot name a container`);
  if (input.uploadDirOnHost.includes(':') || !input.uploadDirOnHost.startsWith('/')) {
    throw new Error(
      `upload directory ${JSON.stringify(input.uploadDirOnHost)} must be an absolute path without ':' to be mounted`,
    );
  }
  const memoryBytes = input.memoryMb * 2 ** 20;
  const portKey = `${input.port}/tcp`;
  const hostConfig: Dockerode.HostConfig = {
    Binds: [`${input.uploadDirOnHost}:/workspace:ro`],
    NanoCpus: Math.round(input.cpus * 1e9),
    Memory: memoryBytes,
    // Equal to Memory: no swap, so a model too big for its limit is killed rather than crawling.
    MemorySwap: memoryBytes,
    PidsLimit: PIDS_LIMIT,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Privileged: false,
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${input.tmpMb ?? DEFAULT_TMP_MB}m` },
    // A crashed model stays down: the run reports the crash instead of serving a restarted model.
    RestartPolicy: { Name: 'no' },
    AutoRemove: false,
    // json-file keeps the lines the platform reads back as the run's logs, bounded on disk.
    LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '2' } },
  };
  if (input.gpu && input.gpu.count > 0) {
    hostConfig.DeviceRequests = [{ Driver: input.gpu.driver, Count: input.gpu.count, Capabilities: [['gpu']] }];
  }
  const spec: Dockerode.ContainerCreateOptions = {
    name: servingContainerName(input.runId),
    Image: input.imageRef,
    User: SERVING_USER,
    Env: [`PORT=${input.port}`, `BIND=${input.network === 'host' ? '127.0.0.1' : '0.0.0.0'}`],
    Labels: { [LABEL_RUN]: input.runId, [LABEL_HOST]: input.hostId, [LABEL_ROLE]: SERVING_ROLE },
    HostConfig: hostConfig,
  };
  if (input.network === 'host') {
    hostConfig.NetworkMode = 'host';
  } else {
    hostConfig.NetworkMode = 'bridge';
    spec.ExposedPorts = { [portKey]: {} };
    // Loopback only, on a port the engine picks: the model is reachable from this host alone.
    hostConfig.PortBindings = { [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }] };
  }
  return spec;
}
