/**
 * The container-job activity: an image run to completion on this container host (its own task
 * queue, CONTAINER_ACTIVITY_OPTIONS.job), heartbeating while it runs so a stop reaches it within
 * about a second, its output copied into the run's logs as it goes, and only a small result
 * returned: how it ended and where its outputs are. The outputs themselves are read afterwards
 * through storage/jobOutputs.ts, never carried through workflow history.
 *
 * The input is recorded in workflow history, so it must hold no secret: a job that needs one (a
 * proxy token) gets it from the activity that builds its environment on the host.
 *
 * A worker killed mid-job: the retried activity adopts the job's container (docker/containerJob.ts)
 * and the log lines it copies again carry the same keys, so none is recorded twice.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import { ensureImage } from '../../docker/ensureImage';
import { jobNetwork, JobNetworkError, type JobNetwork } from '../../docker/jobNetwork';
import { runContainerJob as runJob, type JobOutcome } from '../../docker/containerJob';
import { containerJobSpec, type ContainerJobSpec } from '../../docker/containerJobSpec';
import { ERROR_TYPES } from '../../temporal.config';
import { runHeartbeating } from '../batch/heartbeatingActivity';
import { collectContainerLogs, redact } from '../serving/containerLogs';
import { requireServing } from '../serving/servingFailed';

/** A job's description as a workflow passes it: the spec less the host, which is this worker's. */
export type ContainerJobInput = Omit<ContainerJobSpec, 'hostId'>;

export interface ContainerJobSummary {
  outcome: JobOutcome;
  exitCode: number | null;
  /** Cut to a few kilobytes: it is recorded in workflow history. */
  reason: string;
  /** The output directory on this host, to read back with storage/jobOutputs.ts. */
  outputDir: string;
  hostId: string;
  durationMs: number;
  adopted: boolean;
}

const MAX_REASON_CHARS = 4_000;
/** How often a running job's output is copied into the run's logs. */
const LOG_COLLECT_MS = 5_000;

/** What a caller on the host may add to a job beyond its recorded input. */
export interface HostJobOptions {
  /** NAME=value pairs built on the host (a proxy token): never part of the recorded input. */
  hostEnv?: string[];
  /** Text cut out of the copied logs and the reason (the same token). */
  secrets?: readonly string[];
  /** An earlier attempt's job is adopted only if it exited 0, else run afresh (its proxy died with that attempt). */
  adoptOnlySucceeded?: boolean;
  /** Called with each copy of the logs while the job runs (and once at its end): read its progress files, say. */
  onCollect?: () => Promise<void>;
}

/**
 * Runs one job on this host from inside an activity: the image ensured, the container run to its
 * end with heartbeats, its output copied into the run's logs, a small summary returned.
 */
export async function runJobOnHost(
  { db, logger, serving }: ActivityDeps,
  input: ContainerJobInput,
  o: HostJobOptions = {},
): Promise<ContainerJobSummary> {
  const docker = requireServing(serving?.docker, 'Docker engine');
  const { hostId, maxImageBytes } = requireServing(serving, 'container settings').containers;
  const spec: ContainerJobSpec = { ...input, hostId, env: [...(input.env ?? []), ...(o.hostEnv ?? [])] };
  try {
    containerJobSpec(spec);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, ERROR_TYPES.invalidConfiguration);
  }
  // The job runs as an unprivileged user of its own: the one directory it writes must let it.
  await mkdir(spec.outputDirOnHost, { recursive: true });
  await chmod(spec.outputDirOnHost, 0o777);
  const secrets = o.secrets ?? [];

  let containerId: string | null = null;
  const result = await runHeartbeating({
    heartbeat: () => ({ jobKey: input.jobKey, containerId }),
    work: async (abort) => {
      await ensureImage(docker, spec.imageRef, { signal: abort.signal, maxImageBytes });
      return runJob(docker, spec, {
        signal: abort.signal,
        collectEveryMs: LOG_COLLECT_MS,
        adoptOnlySucceeded: o.adoptOnlySucceeded,
        onContainer: (id) => (containerId = id),
        collect: async (id) => {
          await collectContainerLogs(db, docker, input.runId, id, `job ${input.jobKey}`, secrets);
          await o.onCollect?.();
        },
        onCollectError: (error) =>
          logger.warn({ err: error, runId: input.runId, jobKey: input.jobKey }, "could not copy a job's output"),
      });
    },
  });
  const reason = redact(result.reason, secrets);
  return {
    outcome: result.outcome,
    exitCode: result.exitCode,
    reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason,
    outputDir: spec.outputDirOnHost,
    hostId,
    durationMs: result.durationMs,
    adopted: result.adopted,
  };
}

export function createContainerJobActivities(deps: ActivityDeps) {
  async function runContainerJob(input: ContainerJobInput): Promise<ContainerJobSummary> {
    return runJobOnHost(deps, input);
  }

  return { runContainerJob };
}

/** Where this host's jobs reach the servers it runs for them (docker/jobNetwork.ts); a setting the engine cannot honour fails the dataset. */
export async function jobNetworkOf(deps: ActivityDeps): Promise<JobNetwork> {
  const serving = requireServing(deps.serving, 'container settings');
  try {
    return await jobNetwork(requireServing(serving.docker ?? undefined, 'Docker engine'), serving.containers.network);
  } catch (error) {
    if (error instanceof JobNetworkError)
      throw ApplicationFailure.nonRetryable(error.message, ERROR_TYPES.invalidConfiguration);
    throw error;
  }
}
