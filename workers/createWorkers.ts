/**
 * Which task queue runs which workflows and activities, with what concurrency. A process may serve
 * every queue (one machine) or only some (scale inference out on more hosts).
 */
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { MAX_HEARTBEAT_THROTTLE_INTERVAL, TASK_QUEUES } from '../temporal.config';
import type { ActivityDeps } from '../activities/activityDeps';
import { createRunLifecycleActivities } from '../activities/runLifecycle';
import { createInferenceActivities } from '../activities/inference/inferBatch';
import { createReportActivities } from '../activities/reportActivities';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export type QueueName = 'runs' | 'inference';

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  queues: readonly string[];
  /** Inference batches one process runs at once; each batch has its own request concurrency. */
  inferenceSlots: number;
  /** A prebuilt workflow bundle saves the bundling time when many workers start (tests, benchmarks). */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const unknown = setup.queues.filter((q) => q !== 'runs' && q !== 'inference');
  if (unknown.length > 0) throw new Error(`PROCTOR_WORKER_QUEUES names unknown queue(s): ${unknown.join(', ')} (known: runs, inference)`);
  const common = {
    connection: setup.connection,
    namespace: setup.namespace,
    maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE_INTERVAL,
    defaultHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE_INTERVAL,
  };
  const workers: Promise<Worker>[] = [];
  if (setup.queues.includes('runs')) {
    workers.push(
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.runs,
        ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
        activities: { ...createRunLifecycleActivities(setup.deps), ...createReportActivities(setup.deps) },
      }),
    );
  }
  if (setup.queues.includes('inference')) {
    workers.push(
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.inference,
        activities: createInferenceActivities(setup.deps),
        maxConcurrentActivityTaskExecutions: setup.inferenceSlots,
      }),
    );
  }
  return Promise.all(workers);
}
