/**
 * A container host's worker dies while its model container serves a run. The container lives on
 * under the Docker engine; the restarted worker picks the run up against it, every sample ends up
 * stored exactly once, and no container outlives its run — also when the run is stopped while the
 * worker is down, and when a container of an ended run is found at start-up.
 */
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { and, count, eq } from 'drizzle-orm';
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage } from '../../docker/servingImage';
import { listServingContainers, startServingContainer } from '../../docker/containerRunner';
import { servingContainerSpec } from '../../docker/containerSpec';
import { NLP_SERVING_IMAGE_REF } from '../../contracts/platformImages';
import { sampleResults } from '../../db/schema';
import type { RunView } from '../../contracts/run';
import { startApi, type TestApi } from '../support/apiServer';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { requireEnv } from '../support/env';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { until } from '../support/until';

const HOST_ID = `crash-host-${process.pid}`;
const SETTINGS = useServingSettings({ hostId: HOST_ID });

const docker = connectDocker(requireEnv('DOCKER_HOST'));
let api: TestApi;
let key: string;
let worker: WorkerProcess | undefined;

function startWorker(): Promise<WorkerProcess> {
  return startWorkerProcess({
    ...SETTINGS,
    DOCKER_HOST: requireEnv('DOCKER_HOST'),
    PROCTOR_WORKER_QUEUES: 'runs,inference,containers',
  });
}

beforeAll(async () => {
  await ensureNlpServingImage(docker);
  api = await startApi();
  key = (await api.createUser()).apiKey;
}, 300_000);

afterEach(async () => {
  await worker?.kill('SIGTERM');
  worker = undefined;
});

afterAll(async () => {
  await api?.close();
});

async function containersOf(runId: string) {
  return (await listServingContainers(docker, { hostId: HOST_ID })).filter((c) => c.runId === runId);
}

async function view(runId: string): Promise<RunView> {
  return (await api.request('GET', `/v1/runs/${runId}`, { key })).body as RunView;
}

async function launchFormal(evaluationId: string): Promise<string> {
  const res = await api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, body: {} });
  expect(res.status, res.text).toBe(202);
  return res.body.runId as string;
}

describe('a container host worker that dies mid-run', () => {
  it('is replaced, and the run finishes against the same container with every sample stored once', async () => {
    const { evaluationId } = await createPrivateModel(api, key, { knobs: { latency_ms: 15 } });
    worker = await startWorker();
    const runId = await launchFormal(evaluationId);
    await until('samples answered by the container', async () => (await view(runId)).progress.done >= 150);
    const [container] = await containersOf(runId);
    expect(container).toBeDefined();

    await worker.kill('SIGKILL');
    // The engine keeps the model serving while no worker is there.
    expect((await containersOf(runId)).map((c) => c.id)).toEqual([container!.id]);
    worker = await startWorker();

    const run = await waitForRunEnd(api, key, runId, 150_000);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ status: 'succeeded', done: 1000, failed: 0 });
    expect(run.overallScore).toBe(1);
    const [stored] = await api.deps.db
      .select({ n: count() })
      .from(sampleResults)
      .where(and(eq(sampleResults.runId, runId)));
    expect(stored!.n).toBe(1000);
    // Never restarted: the same container served the whole run, and it is gone now.
    const logs = (
      (await api.request('GET', `/v1/runs/${runId}/logs?limit=1000`, { key })).body.items as { message: string }[]
    ).map((l) => l.message);
    expect(logs.filter((l) => l.includes('starting it again'))).toEqual([]);
    expect(logs.filter((l) => /^model container [0-9a-f]{12} started/.test(l))).toHaveLength(1);
    expect(await containersOf(runId)).toEqual([]);
  });

  it('removes the container of a run stopped while the worker was down, once a worker is back', async () => {
    const { evaluationId } = await createPrivateModel(api, key, { knobs: { latency_ms: 40 } });
    worker = await startWorker();
    const runId = await launchFormal(evaluationId);
    await until('samples answered by the container', async () => (await view(runId)).progress.done >= 20);
    await worker.kill('SIGKILL');
    expect(await containersOf(runId)).toHaveLength(1);

    const stop = await api.request('POST', `/v1/runs/${runId}/stop`, { key, body: {} });
    expect(stop.status, stop.text).toBeLessThan(300);
    worker = await startWorker();
    const run = await waitForRunEnd(api, key, runId, 120_000);
    expect(run.status).toBe('stopped');
    await until('the container to be removed', async () => (await containersOf(runId)).length === 0, 60_000);
  });

  it('reaps, at start-up, a container whose run has ended', async () => {
    // A run that ended while its container somehow survived (a host that was down when the run closed).
    const { evaluationId } = await createPrivateModel(api, key);
    worker = await startWorker();
    const runId = await launchFormal(evaluationId);
    expect((await waitForRunEnd(api, key, runId, 120_000)).status).toBe('succeeded');
    await worker.kill('SIGTERM');
    worker = undefined;

    const uploadDir = await mkdtemp(path.join(SETTINGS.PROCTOR_UPLOAD_DIR, 'orphan-'));
    const orphan = await startServingContainer(docker, (port) =>
      servingContainerSpec({
        runId,
        hostId: HOST_ID,
        imageRef: NLP_SERVING_IMAGE_REF,
        uploadDirOnHost: uploadDir,
        network: 'host',
        port,
        cpus: 1,
        memoryMb: 256,
        gpu: null,
      }),
    );
    expect((await containersOf(runId)).map((c) => c.id)).toEqual([orphan.containerId]);

    worker = await startWorker();
    await until('the orphan to be reaped', async () => (await containersOf(runId)).length === 0, 30_000);
  });
});
