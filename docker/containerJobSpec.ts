/**
 * What a container job is allowed to be: an image run once to completion that leaves files
 * behind (a multimodal run.sh, a fine-tuning job, a custom evaluation image). Its inputs are
 * mounted read-only, exactly one directory is writable, the root is read-only with a small /tmp,
 * the user is unprivileged without capabilities or a way to gain any, CPU, memory (no swap) and
 * processes are capped, GPUs come only as device requests, and the network is off unless the job
 * must call a URL. Its name follows from the run and the job's key, so a restarted worker finds
 * the job it started; its labels let the host's reaper find it once the run has ended. Pure:
 * containerJob.ts runs it.
 */
import type Dockerode from 'dockerode';
import { LABEL_HOST, LABEL_ROLE, LABEL_RUN } from './containerSpec';

export const JOB_ROLE = 'job';
export const LABEL_JOB = 'proctor.job';
/** Where the one writable directory appears inside the container. */
export const JOB_OUTPUT_MOUNT = '/output';
const JOB_USER = '65534:65534';
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface JobLimits {
  /** Wall-clock time from start to kill, kept by the host whatever the job does with signals. */
  timeoutMs: number;
  /** Memory including the /tmp tmpfs; no swap. */
  memoryMb: number;
  cpus: number;
  /** Processes and threads together. */
  pids: number;
  /** Size of the writable /tmp. */
  tmpMb: number;
}

export const DEFAULT_JOB_LIMITS: Readonly<JobLimits> = Object.freeze({
  timeoutMs: 60 * 60_000,
  memoryMb: 4096,
  cpus: 2,
  pids: 1024,
  tmpMb: 64,
});

export interface JobMount {
  /** An absolute path on the Docker host. */
  hostPath: string;
  /** Where it appears inside the container, read-only. */
  containerPath: string;
}

export interface ContainerJobSpec {
  runId: string;
  /** Names the job within its run (e.g. `eval-<dataset>`); one container per run and key. */
  jobKey: string;
  hostId: string;
  imageRef: string;
  /** Replaces the image's entrypoint when given. */
  entrypoint?: string[];
  /** Replaces the image's command when given. */
  command?: string[];
  /** NAME=value pairs. */
  env?: string[];
  /** Where the command starts (an input mount, say); /tmp by default. */
  workingDir?: string;
  inputs?: JobMount[];
  /** The one writable directory, on the Docker host; mounted at JOB_OUTPUT_MOUNT. */
  outputDirOnHost: string;
  /** `none` by default; `host` or `bridge` for a job that must call a URL. */
  network?: 'none' | 'host' | 'bridge';
  gpu?: { driver: string; count: number } | null;
  limits?: Partial<JobLimits>;
}

/** The container's name: the same for every attempt at the same job, so a retry finds it. */
export function containerJobName(runId: string, jobKey: string): string {
  for (const [what, value] of [
    ['run id', runId],
    ['job key', jobKey],
  ] as const)
    if (!NAME_PART.test(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot name a container`);
  return `proctor-job-${runId}-${jobKey}`;
}

export function jobLimits(spec: ContainerJobSpec): JobLimits {
  return { ...DEFAULT_JOB_LIMITS, ...spec.limits };
}

export function containerJobSpec(spec: ContainerJobSpec): Dockerode.ContainerCreateOptions {
  const limits = jobLimits(spec);
  const mountable = (p: string, what: string) => {
    if (p.includes(':') || !p.startsWith('/'))
      throw new Error(`${what} ${JSON.stringify(p)} must be an absolute path without ':' to be mounted`);
  };
  mountable(spec.outputDirOnHost, 'the output directory');
  const binds = (spec.inputs ?? []).map((m) => {
    mountable(m.hostPath, 'the input');
    mountable(m.containerPath, 'the input mount point');
    if (m.containerPath === JOB_OUTPUT_MOUNT || m.containerPath.startsWith(`${JOB_OUTPUT_MOUNT}/`))
      throw new Error(`the input ${m.hostPath} cannot be mounted inside the output directory ${JOB_OUTPUT_MOUNT}`);
    return `${m.hostPath}:${m.containerPath}:ro`;
  });
  binds.push(`${spec.outputDirOnHost}:${JOB_OUTPUT_MOUNT}:rw`);
  const memoryBytes = limits.memoryMb * 2 ** 20;
  const network = spec.network ?? 'none';
  const hostConfig: Dockerode.HostConfig = {
    Binds: binds,
    NetworkMode: network,
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpMb}m` },
    IpcMode: 'private',
    Memory: memoryBytes,
    // Equal to Memory: no swap, so a job too big for its limit is killed (OOMKilled) rather than crawling.
    MemorySwap: memoryBytes,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
    Ulimits: [{ Name: 'core', Soft: 0, Hard: 0 }],
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Privileged: false,
    RestartPolicy: { Name: 'no' },
    AutoRemove: false,
    // json-file keeps the lines copied into the run's logs, also for a worker that adopts the job
    // after a crash, bounded on disk.
    LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '2' } },
  };
  if (spec.gpu && spec.gpu.count > 0)
    hostConfig.DeviceRequests = [{ Driver: spec.gpu.driver, Count: spec.gpu.count, Capabilities: [['gpu']] }];
  const created: Dockerode.ContainerCreateOptions = {
    name: containerJobName(spec.runId, spec.jobKey),
    Image: spec.imageRef,
    User: JOB_USER,
    Env: spec.env ?? [],
    Labels: {
      [LABEL_RUN]: spec.runId,
      [LABEL_HOST]: spec.hostId,
      [LABEL_ROLE]: JOB_ROLE,
      [LABEL_JOB]: spec.jobKey,
    },
    WorkingDir: spec.workingDir ?? '/tmp',
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    NetworkDisabled: network === 'none',
    HostConfig: hostConfig,
  };
  if (spec.entrypoint) created.Entrypoint = spec.entrypoint;
  if (spec.command) created.Cmd = spec.command;
  return created;
}
