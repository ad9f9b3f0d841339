/** Activity stubs per group, with the options fixed in temporal.config.ts. */
import { proxyActivities } from '@temporalio/workflow';
import { ACTIVITY_OPTIONS } from '../temporal.config';
import type { RunLifecycleActivities } from '../activities/runLifecycle';
import type { InferenceActivities } from '../activities/inference/inferBatch';
import type { ReportActivities } from '../activities/reportActivities';

export const lifecycle = proxyActivities<RunLifecycleActivities>(ACTIVITY_OPTIONS.control);
export const inference = proxyActivities<InferenceActivities>(ACTIVITY_OPTIONS.inference);
export const reports = proxyActivities<ReportActivities>(ACTIVITY_OPTIONS.report);
