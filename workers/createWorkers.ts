/**
 * Which task queue runs which workflows and activities, with what concurrency. A process may serve
 * every queue (one machine) or only some (scale inference out on more hosts).
 */
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { containerHostQueue, MAX_HEARTBEAT_THROTTLE_INTERVAL, TASK_QUEUES } from '../temporal.config';
import type { ActivityDeps } from '../activities/activityDeps';
import { createRunLifecycleActivities } from '../activities/runLifecycle';
import { createInferenceActivities } from '../activities/inference/inferBatch';
import { createReportActivities } from '../activities/reportActivities';
import { createLeaseActivities } from '../activities/serving/leaseActivities';
import { createReviewActivities } from '../activities/review/reviewActivities';
import { createContainerActivities } from '../activities/serving/containerActivities';
import { createContainerJobActivities } from '../activities/containerJobs/runContainerJob';
import { createCustomImageActivities } from '../activities/customImages/customImageJob';
import { createMultimodalJobActivities } from '../activities/multimodal/multimodalJob';
import { createBackboneJobActivities } from '../activities/backbone/backboneJob';
import { createJudgingActivities } from '../activities/judging/judgeBatch';
import { createDebugScoringActivities } from '../activities/judging/debugScoring';
import { createEndpointCheckActivities } from '../activities/inference/endpointCheck';
import { createEndpointReadinessActivities } from '../activities/inference/endpointReadiness';
import { createLeaderboardActivities } from '../activities/leaderboard/publicationActivities';
import { createCodeScoringActivities } from '../activities/codeScoring/scoreCodeBatch';
import { createRobustnessActivities } from '../activities/robustness/inferPerturbedBatch';
import { createLaunchSweepActivities } from '../activities/launchSweep';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export const QUEUE_NAMES = ['runs', 'inference', 'containers', 'judge'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

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
  const unknown = setup.queues.filter((q) => !(QUEUE_NAMES as readonly string[]).includes(q));
  if (unknown.length > 0)
    throw new Error(
      `PROCTOR_WORKER_QUEUES names unknown queue(s): ${unknown.join(', ')} (known: ${QUEUE_NAMES.join(', ')})`,
    );
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
        activities: {
          ...createRunLifecycleActivities(setup.deps),
          ...createReportActivities(setup.deps),
          ...createLeaseActivities(setup.deps),
          ...createReviewActivities(setup.deps),
          ...createLeaderboardActivities(setup.deps),
          ...createLaunchSweepActivities(setup.deps),
        },
      }),
    );
  }
  if (setup.queues.includes('inference')) {
    workers.push(
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.inference,
        activities: {
          ...createInferenceActivities(setup.deps),
          ...createRobustnessActivities(setup.deps),
          ...createEndpointCheckActivities(setup.deps),
          ...createEndpointReadinessActivities(setup.deps),
        },
        maxConcurrentActivityTaskExecutions: setup.inferenceSlots,
      }),
    );
  }
  if (setup.queues.includes('judge')) {
    // Each judge batch keeps MAX_JUDGING_CONCURRENCY calls in flight; slots bound the batches at once.
    workers.push(
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.judge,
        activities: { ...createJudgingActivities(setup.deps), ...createDebugScoringActivities(setup.deps) },
        maxConcurrentActivityTaskExecutions: setup.inferenceSlots,
      }),
    );
  }
  if (setup.queues.includes('containers')) {
    const serving = setup.deps.serving;
    if (!serving?.docker) throw new Error('the containers queue needs a Docker engine (DOCKER_HOST) on this worker');
    const containerActivities = createContainerActivities(setup.deps);
    const customImageActivities = createCustomImageActivities(setup.deps);
    const multimodalActivities = createMultimodalJobActivities(setup.deps);
    const backboneActivities = createBackboneJobActivities(setup.deps);
    // Any host may start a run's container; from then on the run talks to that host's own queue.
    workers.push(
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.containers,
        // pass@k batches run their completions in this host's code sandbox.
        activities: {
          ...containerActivities,
          ...createCodeScoringActivities(setup.deps),
          ...customImageActivities,
          ...multimodalActivities,
          ...backboneActivities,
        },
        maxConcurrentActivityTaskExecutions: serving.containers.slots,
      }),
      Worker.create({
        ...common,
        taskQueue: containerHostQueue(serving.containers.hostId),
        activities: {
          ...containerActivities,
          ...createInferenceActivities(setup.deps),
          ...createRobustnessActivities(setup.deps),
          // Container jobs run where their output directory is, on this host's own queue.
          ...createContainerJobActivities(setup.deps),
          ...customImageActivities,
          ...multimodalActivities,
          ...backboneActivities,
        },
        maxConcurrentActivityTaskExecutions: serving.containers.slots,
      }),
    );
  }
  return Promise.all(workers);
}
