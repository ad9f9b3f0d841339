/** Activity stubs per group, with the options fixed in temporal.config.ts. */
import { proxyActivities } from '@temporalio/workflow';
import { ACTIVITY_OPTIONS, CONTAINER_ACTIVITY_OPTIONS } from '../temporal.config';
import type { RunLifecycleActivities } from '../activities/runLifecycle';
import type { InferenceActivities } from '../activities/inference/inferBatch';
import type { ReportActivities } from '../activities/reportActivities';
import type { LeaseActivities } from '../activities/serving/leaseActivities';
import type { ContainerActivities } from '../activities/serving/containerActivities';
import type { JudgingActivities } from '../activities/judging/judgeBatch';

export const lifecycle = proxyActivities<RunLifecycleActivities>(ACTIVITY_OPTIONS.control);
export const inference = proxyActivities<InferenceActivities>(ACTIVITY_OPTIONS.inference);
export const reports = proxyActivities<ReportActivities>(ACTIVITY_OPTIONS.report);
export const judging = proxyActivities<JudgingActivities>(ACTIVITY_OPTIONS.judge);
export const leases = proxyActivities<LeaseActivities>(ACTIVITY_OPTIONS.control);
/** Upload check and container start: any container host. */
export const containers = proxyActivities<ContainerActivities>(CONTAINER_ACTIVITY_OPTIONS.start);

/** Batches of a private run go to the host its container runs on. */
export function inferenceOn(taskQueue: string) {
  return proxyActivities<InferenceActivities>({ ...ACTIVITY_OPTIONS.inference, taskQueue });
}

/** Everything that talks to a started container runs on its host. */
export function containerHost(taskQueue: string) {
  return {
    work: proxyActivities<ContainerActivities>({ ...CONTAINER_ACTIVITY_OPTIONS.host, taskQueue }),
    cleanup: proxyActivities<ContainerActivities>({ ...CONTAINER_ACTIVITY_OPTIONS.cleanup, taskQueue }),
  };
}
