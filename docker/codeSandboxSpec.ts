/**
 * What a code sandbox container is allowed to be: a program written by a model, run once and
 * thrown away. No network at all, a read-only root with a small non-executable /tmp, an
 * unprivileged user without capabilities or a way to gain any, hard limits on memory (no swap),
 * CPU, processes and open files, no log kept by the engine (the host reads the output live and
 * keeps only its tail), and labels to find leftovers by. Pure: codeSandbox.ts runs it.
 * docs/code-sandbox.md says why each of these is there.
 */
import type Dockerode from 'dockerode';
import { LABEL_HOST, LABEL_ROLE, LABEL_RUN } from './containerSpec';

export const SANDBOX_ROLE = 'code-sandbox';
const SANDBOX_USER = '65534:65534';

export interface SandboxLimits {
  /** Wall-clock time from start to kill, enforced by the host. */
  timeoutMs: number;
  /** Memory including the /tmp tmpfs; no swap. */
  memoryMb: number;
  cpus: number;
  /** Processes and threads together, the runner's own included. */
  pids: number;
  /** Size of the writable /tmp. */
  tmpMb: number;
  /** Bytes of each of stdout and stderr the result keeps (the last ones). */
  outputTailBytes: number;
  /** Output (both streams) after which the program is killed as runaway. */
  maxOutputBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 10_000,
  memoryMb: 256,
  cpus: 1,
  pids: 64,
  tmpMb: 16,
  outputTailBytes: 16 * 1024,
  maxOutputBytes: 8 * 2 ** 20,
});

export interface SandboxContainerInput {
  name: string;
  imageRef: string;
  env: string[];
  limits: SandboxLimits;
  /** For a reaper and for logs: the run the program was scored for and the host that ran it. */
  runId?: string;
  hostId?: string;
}

export function sandboxContainerSpec(input: SandboxContainerInput): Dockerode.ContainerCreateOptions {
  const { limits } = input;
  const memoryBytes = limits.memoryMb * 2 ** 20;
  const labels: Record<string, string> = { [LABEL_ROLE]: SANDBOX_ROLE };
  if (input.runId) labels[LABEL_RUN] = input.runId;
  if (input.hostId) labels[LABEL_HOST] = input.hostId;
  return {
    name: input.name,
    Image: input.imageRef,
    User: SANDBOX_USER,
    Env: input.env,
    Labels: labels,
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      // noexec: nothing dropped into /tmp can be run as a binary; the tmpfs counts against Memory.
      Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${limits.tmpMb}m` },
      IpcMode: 'private',
      ShmSize: 2 ** 20,
      Memory: memoryBytes,
      // Equal to Memory: no swap, so a memory hog is killed at once instead of thrashing the host.
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      Ulimits: [
        { Name: 'nofile', Soft: 256, Hard: 256 },
        { Name: 'fsize', Soft: limits.tmpMb * 2 ** 20, Hard: limits.tmpMb * 2 ** 20 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      // The host attaches to the output and keeps its tail; the engine keeps nothing on disk.
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}
