/**
 * A multimodal run.sh job interrupted, on real worker processes and the real Docker engine. A stop
 * reaches the job in seconds: its container goes and the dataset closes as stopped (the history is
 * kept as the replay fixture dataset-multimodal-stopped). A container host's worker SIGKILLed while
 * the job runs: the job's container lives on, but the data server it asks died with the worker, so
 * the restarted worker's attempt replaces that job rather than waiting for it; the dataset's
 * results are stored once, every item exactly once, and no container outlives the run.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { connectDocker } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { inspectContainer } from '../../docker/containerState';
import { containerJobName } from '../../docker/containerJobSpec';
import { MULTIMODAL_RUNTIME_IMAGE_REF } from '../../contracts/platformImages';
import { MM_SHAPES_VQA_ID } from '../../datasets/builtin/multimodal/mmShapesVqa';
import { sampleResults } from '../../db/schema';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { requireEnv } from '../support/env';
import { useServingSettings, waitForRunEnd } from '../support/privateModel';
import { expectRunning, launchRun } from '../support/runThroughApi';
import { containersOfRun } from '../support/jobContainers';
import { createMultimodalModel, MULTIMODAL_FIXTURE } from '../support/multimodalModel';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { useTestStack } from '../support/testStack';
import { RECORD_HISTORIES, recordHistoryFixture } from '../support/historyFixtures';
import { readFile } from 'node:fs/promises';
import { until } from '../support/until';

const HOST_ID = `mm-interrupts-host-${process.pid}`;
const SETTINGS = useServingSettings({ hostId: HOST_ID });
const docker = connectDocker(requireEnv('DOCKER_HOST'));
beforeAll(async () => {
  await ensureImage(docker, MULTIMODAL_RUNTIME_IMAGE_REF);
}, 300_000);
// The runs and containers queues are served by worker processes this file starts and kills.
const stack = useTestStack({ api: true, temporal: true });
let worker: WorkerProcess | undefined;

afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') console.error(worker?.output().slice(-20_000));
  await worker?.kill('SIGTERM');
  worker = undefined;
});

function startWorker(): Promise<WorkerProcess> {
  return startWorkerProcess({
    ...SETTINGS,
    DOCKER_HOST: requireEnv('DOCKER_HOST'),
    PROCTOR_WORKER_QUEUES: 'runs,inference,containers',
  });
}

/** The reference run.sh, after a pause: long enough to be interrupted while it runs. */
async function slowReference(pauseSeconds: number) {
  return {
    runSh: `set -e\ncd "$(dirname "$0")"\necho "pausing"\nsleep ${pauseSeconds}\nbash reference_run.sh "$@"\n`,
    files: { 'reference_run.sh': await readFile(`${MULTIMODAL_FIXTURE}/run.sh`, 'utf8') },
  };
}

describe('a multimodal run.sh job interrupted', () => {
  it('by a stop: its container goes within seconds and the dataset is stopped', async () => {
    worker = await startWorker();
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createMultimodalModel(stack.api, key, {
      datasets: [MM_SHAPES_VQA_ID],
      ...(await slowReference(600)),
    });
    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const name = containerJobName(runId, `mm-${MM_SHAPES_VQA_ID}`);
    await until('the job to run', async () => {
      await expectRunning(stack.api, key, runId);
      return (await inspectContainer(docker, name))?.State.Running;
    });
    const stoppedAt = Date.now();
    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key, body: { reason: 'enough' } });
    expect(stop.status, stop.text).toBe(202);
    await until('the container to go', async () => !(await inspectContainer(docker, name)), 15_000);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    const run = await waitForRunEnd(stack.api, key, runId);
    expect(run.status).toBe('stopped');
    expect(run.datasets[0]!.status).toBe('stopped');
    expect(await containersOfRun(docker, runId)).toEqual([]);
    if (RECORD_HISTORIES)
      await recordHistoryFixture(
        stack.temporal,
        'dataset-multimodal-stopped',
        workflowIds.dataset(runId, MM_SHAPES_VQA_ID),
        WORKFLOW_TYPES.dataset,
      );
  }, 300_000);

  it('by its worker SIGKILLed: the job runs again in a new container, every item stored once', async () => {
    worker = await startWorker();
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createMultimodalModel(stack.api, key, {
      datasets: [MM_SHAPES_VQA_ID],
      ...(await slowReference(4)),
    });
    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const name = containerJobName(runId, `mm-${MM_SHAPES_VQA_ID}`);
    const first = await until('the job to run', async () => {
      await expectRunning(stack.api, key, runId);
      const info = await inspectContainer(docker, name);
      return info?.State.Running && info.Id;
    });

    await worker.kill('SIGKILL');
    worker = await startWorker();
    // The retried attempt (once the killed one's heartbeat times out) runs the job afresh.
    const second = await until(
      'a new container for the job',
      async () => {
        const info = await inspectContainer(docker, name);
        if (info && info.Id !== first) return info.Id;
        await expectRunning(stack.api, key, runId);
        return false;
      },
      120_000,
    );
    expect(second).not.toBe(first);

    const run = await waitForRunEnd(stack.api, key, runId, 180_000);
    expect(run.status, JSON.stringify(run.datasets.map((d) => d.error))).toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ status: 'succeeded', total: 240, done: 240, failed: 0 });
    expect(run.datasets[0]!.metrics!.score).toBe(1);
    const rows = await stack.db
      .select({ position: sampleResults.position })
      .from(sampleResults)
      .where(and(eq(sampleResults.runId, runId), eq(sampleResults.datasetId, MM_SHAPES_VQA_ID)));
    expect(new Set(rows.map((r) => r.position)).size).toBe(240);
    expect(rows).toHaveLength(240);
    expect(await containersOfRun(docker, runId)).toEqual([]);
  }, 300_000);
});
