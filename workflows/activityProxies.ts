/** Activity stubs per group, with the options fixed in temporal.config.ts. */
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import {
  ACTIVITY_OPTIONS,
  CONTAINER_ACTIVITY_OPTIONS,
  LOCAL_ACTIVITY_OPTIONS,
  codeScoringTimeoutMs,
} from '../temporal.config';
import type { RunLifecycleActivities } from '../activities/runLifecycle';
import type { InferenceActivities } from '../activities/inference/inferBatch';
import type { ReportActivities } from '../activities/reportActivities';
import type { LeaseActivities } from '../activities/serving/leaseActivities';
import type { ContainerActivities } from '../activities/serving/containerActivities';
import type { JudgingActivities } from '../activities/judging/judgeBatch';
import type { CodeScoringActivities } from '../activities/codeScoring/scoreCodeBatch';
import type { RobustnessActivities } from '../activities/robustness/inferPerturbedBatch';
import type { CustomImageActivities } from '../activities/customImages/customImageJob';
import type { MultimodalJobActivities } from '../activities/multimodal/multimodalJob';
import type { BackboneJobActivities } from '../activities/backbone/backboneJob';
import type { EndpointReadinessActivities } from '../activities/inference/endpointReadiness';
import { PATCHES } from './patches';

export const lifecycle = proxyActivities<RunLifecycleActivities>(ACTIVITY_OPTIONS.control);
const localLifecycle = proxyLocalActivities<RunLifecycleActivities>(LOCAL_ACTIVITY_OPTIONS.control);

/**
 * The lifecycle steps as local activities (temporal.config.ts LOCAL_ACTIVITY_OPTIONS); executions
 * begun before the patch replay them as the ordinary activities they were. Asked once at the top of
 * a workflow, before its first step.
 */
export function bookkeeping(): typeof lifecycle {
  return patched(PATCHES.localBookkeeping.id) ? localLifecycle : lifecycle;
}
export const inference = proxyActivities<InferenceActivities>(ACTIVITY_OPTIONS.inference);
export const reports = proxyActivities<ReportActivities>(ACTIVITY_OPTIONS.report);
/** A formal run's wait for its API endpoint, on an inference worker. */
export const readiness = proxyActivities<EndpointReadinessActivities>(ACTIVITY_OPTIONS.readiness);
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

/** pass@k batches on any container host, with a time limit fitted to the batch (temporal.config.ts). */
export function codeScoring(samplesPerBatch: number, n: number) {
  return proxyActivities<CodeScoringActivities>({
    ...ACTIVITY_OPTIONS.code,
    startToCloseTimeout: codeScoringTimeoutMs(samplesPerBatch, n),
  });
}

/** The robustness pass's batches: like inference, on the run's container host for a private run. */
export function robustnessOn(taskQueue: string | undefined) {
  return proxyActivities<RobustnessActivities>(
    taskQueue ? { ...ACTIVITY_OPTIONS.inference, taskQueue } : ACTIVITY_OPTIONS.inference,
  );
}

/** A custom image's job: placed on any container host, then run on that host's own queue. */
export const customImagePlacement = proxyActivities<CustomImageActivities>(CONTAINER_ACTIVITY_OPTIONS.start);
export function customImageOn(taskQueue: string) {
  return proxyActivities<CustomImageActivities>({ ...CONTAINER_ACTIVITY_OPTIONS.job, taskQueue });
}

/** A multimodal run.sh job: placed on any container host, then run on that host's own queue. */
export const multimodalPlacement = proxyActivities<MultimodalJobActivities>(CONTAINER_ACTIVITY_OPTIONS.start);
export function multimodalOn(taskQueue: string) {
  return proxyActivities<MultimodalJobActivities>({ ...CONTAINER_ACTIVITY_OPTIONS.job, taskQueue });
}

/** A CV/Audio fine-tune job: placed on any container host, then run on that host's own queue. */
export const backbonePlacement = proxyActivities<BackboneJobActivities>(CONTAINER_ACTIVITY_OPTIONS.start);
export function backboneOn(taskQueue: string) {
  return proxyActivities<BackboneJobActivities>({ ...CONTAINER_ACTIVITY_OPTIONS.job, taskQueue });
}
