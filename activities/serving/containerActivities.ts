/**
 * A private run's model container, from upload check to removal. Starting runs on any container
 * host; everything after runs on the host that started it (its own task queue), because the
 * container answers there only.
 */
import { ImageTooLargeError } from '../../docker/containerErrors';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../activityDeps';
import type { ServingEndpoint, ServingPlan } from '../../contracts/run';
import { getRun } from '../../db/queries/runRecords';
import { appendRunLogs } from '../../db/queries/runLogs';
import { ERROR_TYPES, containerHostQueue } from '../../temporal.config';
import { checkUploadTree } from '../../storage/uploadCheck';
import { versionDir } from '../../storage/uploadLayout';
import { servingContainerSpec } from '../../docker/containerSpec';
import {
  containerExitError,
  ensureImage,
  removeContainer,
  startServingContainer,
  waitHealthy,
} from '../../docker/containerRunner';
import { servingContainerName } from '../../docker/containerSpec';
import { describeExit } from '../../docker/containerErrors';
import { collectContainerLogs } from './containerLogs';
import { startHeartbeat } from '../batch/heartbeatTicker';
import { requireServing, servingFailed } from './servingFailed';

/** A container that dies is started again this many times in one run before its datasets give up. */
export const MAX_CONTAINER_RESTARTS = 2;

export interface EnsureServingInput {
  runId: string;
  endpoint: ServingEndpoint;
  restarts: number;
}

export function createContainerActivities({ db, logger, serving }: ActivityDeps) {
  const settings = () => requireServing(serving, 'container settings');
  const engine = () => requireServing(serving?.docker, 'Docker engine');

  const planOf = async (runId: string): Promise<{ plan: ServingPlan; domain: string }> => {
    const run = await getRun(db, runId);
    if (!run.config.serving)
      throw ApplicationFailure.nonRetryable(
        `run ${runId} is not a private deployment`,
        ERROR_TYPES.invalidConfiguration,
      );
    return { plan: run.config.serving, domain: run.config.domain };
  };
  const uploadDir = (plan: ServingPlan) => {
    try {
      return versionDir(settings().uploads.dir, plan.uploadPath);
    } catch (error) {
      throw ApplicationFailure.nonRetryable((error as Error).message, ERROR_TYPES.invalidConfiguration);
    }
  };

  /** Starts the run's container on this host and waits until its model service answers. */
  const bringUp = async (runId: string, plan: ServingPlan): Promise<ServingEndpoint> => {
    const { containers } = settings();
    const type = containers.gpuTypes.find((t) => t.id === plan.gpuType);
    const gpu = type?.driver ? { driver: type.driver, count: plan.gpuCount } : null;
    const stopHeartbeat = startHeartbeat(Context.current(), () => 'starting');
    try {
      await ensureImage(engine(), plan.imageRef, { maxImageBytes: containers.maxImageBytes }).catch(
        (error: unknown) => {
          // Too large stays too large: the run fails with the reason rather than pulling again.
          throw error instanceof ImageTooLargeError ? servingFailed(error.message) : error;
        },
      );
      const spec = (port: number) =>
        servingContainerSpec({
          runId,
          hostId: containers.hostId,
          imageRef: plan.imageRef,
          uploadDirOnHost: uploadDir(plan),
          network: containers.network,
          port,
          cpus: containers.cpus,
          memoryMb: containers.memoryMb,
          gpu,
        });
      const started = await startServingContainer(engine(), spec);
      return {
        containerId: started.containerId,
        baseUrl: started.baseUrl,
        hostQueue: containerHostQueue(containers.hostId),
      };
    } finally {
      stopHeartbeat();
    }
  };

  const awaitHealthy = async (runId: string, endpoint: ServingEndpoint): Promise<void> => {
    const ctx = Context.current();
    const started = Date.now();
    // The run's own wait when it names one, never past the platform's (PROCTOR_CONTAINER_HEALTH_TIMEOUT_MS).
    const asked = (await getRun(db, runId)).config.limits.readyTimeoutSeconds;
    const platform = settings().containers.healthTimeoutMs;
    const timeoutMs = asked ? Math.min(asked * 1000, platform) : platform;
    const stopHeartbeat = startHeartbeat(ctx, () => 'waiting for health');
    try {
      await waitHealthy(engine(), endpoint.containerId, endpoint.baseUrl, {
        timeoutMs,
        signal: ctx.cancellationSignal,
      });
    } catch (error) {
      await collectContainerLogs(db, engine(), runId, endpoint.containerId).catch(() => 0);
      if (ctx.cancellationSignal.aborted) throw error;
      throw servingFailed(`the model service did not become healthy: ${(error as Error).message}`);
    } finally {
      stopHeartbeat();
    }
    await collectContainerLogs(db, engine(), runId, endpoint.containerId);
    await appendRunLogs(db, [
      {
        runId,
        level: 'info',
        message: `model service healthy at ${endpoint.baseUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        dedupeKey: `serving-healthy:${endpoint.containerId}`,
      },
    ]);
  };

  return {
    /** The layout check, again at run time: the tree the container will mount must be the one checked. */
    async checkRunUpload({ runId }: { runId: string }): Promise<void> {
      const { plan, domain } = await planOf(runId);
      const report = await checkUploadTree(uploadDir(plan), domain as never);
      const problems = report.problems.map((p) => `${p.path || '.'}: ${p.message}`);
      if (report.ok && report.maxGpus !== null && plan.gpuCount > report.maxGpus) {
        problems.push(
          `the run asks for ${plan.gpuCount} GPU(s) but a ${report.parameterScaleBillion}B model may use at most ${report.maxGpus} (≤ 7B: 1, ≤ 20B: 4, > 20B: 8)`,
        );
      }
      await appendRunLogs(db, [
        {
          runId,
          level: problems.length ? 'error' : 'info',
          message: problems.length
            ? `upload v${plan.uploadVersion} failed its check: ${problems.join('; ')}`
            : report.parameterScaleBillion === null
              ? `upload v${plan.uploadVersion} checked: the ${domain} layout is complete`
              : `upload v${plan.uploadVersion} checked: ${report.parameterScaleBillion}B parameters, up to ${report.maxGpus} GPU(s)`,
          dedupeKey: 'upload-check',
        },
      ]);
      if (problems.length)
        throw servingFailed(`upload v${plan.uploadVersion} failed its check: ${problems.join('; ')}`);
    },

    async startServingContainer({ runId }: { runId: string }): Promise<ServingEndpoint> {
      const { plan } = await planOf(runId);
      const endpoint = await bringUp(runId, plan);
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `model container ${endpoint.containerId.slice(0, 12)} started on ${settings().containers.hostId} from ${plan.imageRef} (upload v${plan.uploadVersion}, ${plan.gpuCount} × ${plan.gpuType})`,
          dedupeKey: `container-start:${endpoint.containerId}`,
        },
      ]);
      logger.info({ runId, containerId: endpoint.containerId }, 'model container started');
      return endpoint;
    },

    async waitServingHealthy({ runId, endpoint }: { runId: string; endpoint: ServingEndpoint }): Promise<void> {
      await awaitHealthy(runId, endpoint);
    },

    /**
     * Between datasets: the container is still up, or it died and is started again (a bounded
     * number of times), so one crash costs the dataset it happened in and not the rest of the run.
     */
    async ensureServing({
      runId,
      endpoint,
      restarts,
    }: EnsureServingInput): Promise<{ endpoint: ServingEndpoint; restarts: number }> {
      await collectContainerLogs(db, engine(), runId, endpoint.containerId).catch(() => 0);
      const exited = await containerExitError(engine(), endpoint.containerId, 'while it was serving');
      if (!exited) return { endpoint, restarts };
      if (restarts >= MAX_CONTAINER_RESTARTS) {
        throw servingFailed(`${exited.message} It was already restarted ${restarts} time(s) in this run.`);
      }
      await appendRunLogs(db, [
        {
          runId,
          level: 'warn',
          message: `${describeExit(exited.info)}; starting it again (restart ${restarts + 1} of ${MAX_CONTAINER_RESTARTS})`,
          dedupeKey: `container-restart:${restarts + 1}`,
        },
      ]);
      const { plan } = await planOf(runId);
      const next = await bringUp(runId, plan);
      await awaitHealthy(runId, next);
      return { endpoint: next, restarts: restarts + 1 };
    },

    async removeServingContainer({ runId, containerId }: { runId: string; containerId: string }): Promise<void> {
      await collectContainerLogs(db, engine(), runId, containerId).catch((error: unknown) =>
        logger.warn({ err: error, runId }, 'could not collect the container logs'),
      );
      await removeContainer(engine(), containerId);
      // A restart that never became healthy may have left a newer container under the run's name.
      await removeContainer(engine(), servingContainerName(runId));
      await appendRunLogs(db, [
        {
          runId,
          level: 'info',
          message: `model container ${containerId.slice(0, 12)} removed`,
          dedupeKey: `container-removed:${containerId}`,
        },
      ]);
    },
  };
}

export type ContainerActivities = ReturnType<typeof createContainerActivities>;
