/**
 * A backbone fine-tune job interrupted, on real worker processes and the real Docker engine. A stop
 * reaches the job in seconds: its container goes and the dataset closes as stopped. A container
 * host's worker SIGKILLed mid-training with the job's container gone too (the host lost it): the
 * next attempt runs the job again into the same output directory, which resumes after the last
 * epoch it finished; every epoch is logged once and every test item stored once. A job that
 * outgrows its memory or its wall clock fails its dataset with the reason, not the run.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { connectDocker } from '../../docker/engine';
import { inspectContainer } from '../../docker/containerState';
import { containerJobName } from '../../docker/containerJobSpec';
import { sampleResults } from '../../db/schema';
import { requireEnv } from '../support/env';
import { useServingSettings, waitForRunEnd } from '../support/privateModel';
import { expectRunning, launchRun } from '../support/runThroughApi';
import { containersOfRun } from '../support/jobContainers';
import { BACKBONE_FIXTURES, createBackboneModel } from '../support/backboneModel';
import { backboneImageForTests, BACKBONE_IMAGE_SETUP_MS } from '../support/backboneImage';
import { startWorkerProcess, type WorkerProcess } from '../support/workerProcess';
import { useTestStack } from '../support/testStack';
import { runLogMessages } from '../support/customImageEvaluations';
import { until } from '../support/until';

const HOST_ID = `backbone-interrupts-host-${process.pid}`;
const SETTINGS = {
  ...useServingSettings({ hostId: HOST_ID }),
  PROCTOR_CONTAINER_MEMORY_MB: '3072',
  PROCTOR_CONTAINER_CPUS: '2',
  PROCTOR_JOBS_DIR: path.join(requireEnv('PROCTOR_TEST_DATA_DIR'), `jobs-${process.pid}`),
};
const docker = connectDocker(requireEnv('DOCKER_HOST'));
beforeAll(async () => {
  await backboneImageForTests();
}, BACKBONE_IMAGE_SETUP_MS);
// The runs and containers queues are served by worker processes this file starts and kills.
const stack = useTestStack({ api: true, temporal: true });
let worker: WorkerProcess | undefined;

afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') console.error(worker?.output().slice(-20_000));
  await worker?.kill('SIGTERM');
  worker = undefined;
});

function startWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  return startWorkerProcess({
    ...SETTINGS,
    ...env,
    DOCKER_HOST: requireEnv('DOCKER_HOST'),
    PROCTOR_WORKER_QUEUES: 'runs,inference,containers',
  });
}

/** The epochs the job has finished, read from its progress file on the host. */
async function epochsDone(runId: string, jobKey: string): Promise<number> {
  const text = await readFile(path.join(SETTINGS.PROCTOR_JOBS_DIR, runId, jobKey, 'progress.jsonl'), 'utf8').catch(
    () => '',
  );
  return text.split('\n').filter((l) => l.includes('"event": "epoch"') || l.includes('"event":"epoch"')).length;
}

const SEG = 'cv-shapes-seg';

describe('a backbone fine-tune job interrupted', () => {
  it('by a stop: its container goes within seconds and the dataset is stopped', async () => {
    worker = await startWorker();
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createBackboneModel(stack.api, key, {
      domain: 'cv',
      fixture: 'reference',
      datasets: [SEG],
      tasks: [{ task: 'segmentation' }],
    });
    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const name = containerJobName(runId, `bb-${SEG}`);
    await until(
      'the job to run',
      async () => {
        await expectRunning(stack.api, key, runId);
        return (await inspectContainer(docker, name))?.State.Running;
      },
      300_000,
    );
    const stoppedAt = Date.now();
    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key, body: { reason: 'enough' } });
    expect(stop.status, stop.text).toBe(202);
    await until('the container to go', async () => !(await inspectContainer(docker, name)), 15_000);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    const run = await waitForRunEnd(stack.api, key, runId);
    expect(run.status).toBe('stopped');
    expect(run.datasets[0]!.status).toBe('stopped');
    expect(await containersOfRun(docker, runId)).toEqual([]);
  }, 600_000);

  it('by its worker SIGKILLed and its container lost mid-training: the job resumes after its last epoch, nothing twice', async () => {
    worker = await startWorker();
    const { apiKey: key } = await stack.api.createUser();
    const { evaluationId } = await createBackboneModel(stack.api, key, {
      domain: 'cv',
      fixture: 'reference',
      datasets: [SEG],
      tasks: [{ task: 'segmentation' }],
    });
    const runId = await launchRun(stack.api, key, evaluationId, 'formal');
    const jobKey = `bb-${SEG}`;
    await until(
      'two epochs',
      async () => {
        await expectRunning(stack.api, key, runId);
        return (await epochsDone(runId, jobKey)) >= 2;
      },
      300_000,
      50,
    );
    await worker.kill('SIGKILL');
    const container = await inspectContainer(docker, containerJobName(runId, jobKey));
    if (container) await docker.getContainer(container.Id).remove({ force: true });
    const finished = await epochsDone(runId, jobKey);
    expect(finished).toBeLessThan(10);

    worker = await startWorker();
    const run = await waitForRunEnd(stack.api, key, runId, 420_000);
    expect(run.status, JSON.stringify(run.datasets.map((d) => d.error))).toBe('succeeded');
    expect(run.datasets[0]).toMatchObject({ status: 'succeeded', total: 32, done: 32, failed: 0 });
    expect(run.datasets[0]!.metrics!.backbone!.curve.map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const logs = await runLogMessages(stack.api, key, runId);
    expect(
      logs.some((l) => /^fine-tune job: resuming after epoch \d+ of 10$/.test(l)),
      logs.join('\n'),
    ).toBe(true);
    for (let epoch = 1; epoch <= 10; epoch++)
      expect(
        logs.filter((l) => l.startsWith(`epoch ${epoch}/10:`)),
        `epoch ${epoch}`,
      ).toHaveLength(1);
    const rows = await stack.db
      .select({ position: sampleResults.position })
      .from(sampleResults)
      .where(and(eq(sampleResults.runId, runId), eq(sampleResults.datasetId, SEG)));
    expect(rows).toHaveLength(32);
    expect(new Set(rows.map((r) => r.position)).size).toBe(32);
    expect(await containersOfRun(docker, runId)).toEqual([]);
  }, 900_000);

  it('beyond its memory or its wall clock: each fails its dataset with the reason', async () => {
    worker = await startWorker({ PROCTOR_CONTAINER_MEMORY_MB: '1024', PROCTOR_BACKBONE_JOB_TIMEOUT_SECONDS: '12' });
    const { apiKey: key } = await stack.api.createUser();
    const reference = await readFile(path.join(BACKBONE_FIXTURES, 'cv/reference/model_adapter.py'), 'utf8');
    const [hog, slow] = await Promise.all([
      createBackboneModel(stack.api, key, {
        domain: 'cv',
        fixture: 'reference',
        datasets: ['cv-shapes'],
        tasks: [{ task: 'classification' }],
        // Two GiB of weights that are never used: more than the job's 1 GiB.
        files: {
          'model_adapter.py': reference.replace(
            'return model',
            'model.hog = torch.ones(512, 1024, 1024)\n        return model',
          ),
        },
      }),
      createBackboneModel(stack.api, key, {
        domain: 'cv',
        fixture: 'reference',
        datasets: ['cv-shapes'],
        tasks: [{ task: 'classification' }],
        files: {
          'model_adapter.py': reference.replace(
            'return model',
            'import time\n        time.sleep(60)\n        return model',
          ),
        },
      }),
    ]);
    const [hogRun, slowRun] = await Promise.all(
      [hog, slow].map(async (m) =>
        waitForRunEnd(stack.api, key, await launchRun(stack.api, key, m.evaluationId, 'formal'), 420_000),
      ),
    );
    expect(hogRun.datasets[0]).toMatchObject({ status: 'failed' });
    expect(hogRun.datasets[0]!.error).toMatch(/out_of_memory|ran out of memory/);
    expect(slowRun.datasets[0]).toMatchObject({ status: 'failed' });
    expect(slowRun.datasets[0]!.error).toMatch(/ran out of time/);
    expect(await containersOfRun(docker, hogRun.runId)).toEqual([]);
    expect(await containersOfRun(docker, slowRun.runId)).toEqual([]);
  }, 900_000);
});
