/**
 * A container host's worker dies (SIGKILL) while a custom image's job runs. The job's container
 * lives on under the engine, but the per-job proxy its token belonged to died with the worker: the
 * restarted worker's attempt replaces that job rather than taking its result, and the dataset's
 * metrics and end line are stored once. A job that finished cleanly while no worker was there is
 * adopted instead: its result stands and it is not run a second time. No job container outlives
 * its run.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { connectDocker } from '../../docker/engine';
import { inspectContainer } from '../../docker/containerState';
import { containerLogs } from '../../docker/containerLogs';
import { containerJobName } from '../../docker/containerJobSpec';
import { LABEL_RUN } from '../../docker/containerSpec';
import { runDatasets } from '../../db/schema';
import { TERMINAL_STATUSES, type RunView } from '../../contracts/run';
import { requireEnv } from '../support/env';
import { useServingSettings } from '../support/privateModel';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { useTestStack } from '../support/testStack';
import { registerDataset } from '../support/evaluationBodies';
import { waitForRunEnd } from '../support/runThroughApi';
import { ensureJobBehavioursImage } from '../support/jobBehavioursImage';
import { customApiEvaluation, importBehavioursImage, runLogMessages } from '../support/customImageEvaluations';
import { until } from '../support/until';

const HOST_ID = `custom-crash-host-${process.pid}`;
const SETTINGS = useServingSettings({ hostId: HOST_ID });
const MODEL_KEY = `sk-crash-${randomUUID()}`;

const stack = useTestStack({
  api: true,
  models: { slow: { skill: 1, requiredApiKey: MODEL_KEY, latencyMs: 250 } },
});
const docker = connectDocker(requireEnv('DOCKER_HOST'));
let key: string;
let imageId: string;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  await ensureJobBehavioursImage(docker);
  key = (await stack.api.createUser()).apiKey;
  imageId = await importBehavioursImage(stack.api, key);
}, 300_000);

afterEach(async ({ task }) => {
  // What the worker said is the first thing to read when a test here fails.
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

/** A formal run of a stand-in evaluation on one dataset of its own, in the mode given. */
async function launch(parameters: Record<string, unknown>): Promise<{ runId: string; datasetId: string }> {
  const datasetId = await registerDataset(stack.api, key, 'nlp');
  const evaluationId = await customApiEvaluation(stack.api, key, {
    url: stack.models.slow.url,
    apiKey: MODEL_KEY,
    datasets: [datasetId],
    customImage: { imageId, parameters },
  });
  const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
  expect(launched.status, launched.text).toBe(202);
  return { runId: launched.body.runId as string, datasetId };
}

/** Every container of the run, job or otherwise, whatever its state. */
async function containersOf(runId: string): Promise<string[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
  return listed.map((c) => c.Id);
}

/** The run's dataset row, read from the database: what the API shows is derived from it. */
async function datasetRow(runId: string, datasetId: string) {
  const [row] = await stack.db
    .select()
    .from(runDatasets)
    .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, datasetId)));
  return row!;
}

async function endLines(runId: string, datasetId: string): Promise<string[]> {
  return (await runLogMessages(stack.api, key, runId)).filter((m) =>
    m.startsWith(`custom image `) ? m.includes(` on dataset ${datasetId}: `) : false,
  );
}

/** Fails at once, with the run's reasons, when the run ended before the test expected it to. */
async function expectRunning(runId: string): Promise<void> {
  const run = (await stack.api.request('GET', `/v1/runs/${runId}`, { key })).body as RunView;
  if (TERMINAL_STATUSES.includes(run.status))
    throw new Error(`the run ended ${run.status}: ${JSON.stringify(run.datasets.map((d) => d.error))}`);
}

function expectSucceeded(run: RunView, calls: number): void {
  expect(run.status, JSON.stringify(run.datasets.map((d) => [d.dataset, d.error]))).toBe('succeeded');
  expect(run.datasets[0]).toMatchObject({ status: 'succeeded', total: 1, done: 1, failed: 0 });
  expect(run.datasets[0]!.metrics).toMatchObject({ metric: 'custom_image', score: calls });
  expect(run.datasets[0]!.metrics!.custom!.metrics).toEqual([{ name: 'calls', value: calls }]);
}

describe('a container host worker killed while a custom image runs', () => {
  it('is replaced, and its job runs again in a new container whose metrics are stored once', async () => {
    const calls = 24;
    worker = await startWorker();
    const before = stack.models.slow.stats().requests;
    const { runId, datasetId } = await launch({ mode: 'slow', calls });
    const name = containerJobName(runId, `eval-${datasetId}`);
    const first = await until('the job to run and ask the model', async () => {
      const info = await inspectContainer(docker, name);
      return info?.State.Running && stack.models.slow.stats().requests - before >= 3 && info.Id;
    });

    await worker.kill('SIGKILL');
    worker = await startWorker();
    // The retried attempt (once the killed one's heartbeat times out) runs the job afresh.
    const second = await until(
      'a new container for the job',
      async () => {
        const info = await inspectContainer(docker, name);
        if (info && info.Id !== first) return info.Id;
        await expectRunning(runId);
        return false;
      },
      120_000,
    );
    expect(second).not.toBe(first);
    expect(await inspectContainer(docker, first)).toBeNull();

    const run = await waitForRunEnd(stack.api, key, runId, 120_000);
    expectSucceeded(run, calls);
    // The proxy that counts is the second attempt's: it saw the whole of the job that counted.
    expect(run.datasets[0]!.metrics!.custom!.usage).toMatchObject({ requests: calls, failed: 0 });
    expect(await datasetRow(runId, datasetId)).toMatchObject({ status: 'succeeded', done: 1 });
    expect(await endLines(runId, datasetId)).toHaveLength(1);
    expect(await containersOf(runId)).toEqual([]);
  }, 180_000);

  it('adopts a job that finished while no worker was there, without running it again', async () => {
    const calls = 2;
    worker = await startWorker();
    const before = stack.models.slow.stats().requests;
    // Asks the model twice, then lingers: the worker dies after the calls, before the job ends.
    const { runId, datasetId } = await launch({ mode: 'slow', calls, linger: 5 });
    const name = containerJobName(runId, `eval-${datasetId}`);
    const id = await until('the job to have asked the model', async () => {
      const info = await inspectContainer(docker, name);
      if (!info?.State.Running) {
        await expectRunning(runId);
        return false;
      }
      const lines = await containerLogs(docker, info.Id, { tail: 5 });
      return lines.some((l) => l.line.includes('lingering')) && info.Id;
    });

    await worker.kill('SIGKILL');
    const exited = await until('the job to exit', async () => {
      const info = await inspectContainer(docker, id);
      return info?.State.Status === 'exited' && info;
    });
    expect(exited.State.ExitCode).toBe(0);
    worker = await startWorker();

    const run = await waitForRunEnd(stack.api, key, runId, 120_000);
    expectSucceeded(run, calls);
    // One job's worth of questions: the exited container's result was taken, not run again.
    expect(stack.models.slow.stats().requests - before).toBe(calls);
    expect(await datasetRow(runId, datasetId)).toMatchObject({ status: 'succeeded', done: 1 });
    expect(await endLines(runId, datasetId)).toHaveLength(1);
    expect(await containersOf(runId)).toEqual([]);
  }, 180_000);
});
