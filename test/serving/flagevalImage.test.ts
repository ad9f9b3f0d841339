/**
 * A user's image that serves with the real flageval-serving package (its production server:
 * gunicorn with gevent workers, global_init in each worker) works as a private deployment: it is
 * taken as ready without a /health route of its own, answers /func for a verification run, its
 * gunicorn and service output become the run's logs, and a stopped run leaves no container.
 * (No registry is reachable: the image is built on the engine under a registry-style name, which
 * is what a pull would leave.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { LABEL_RUN } from '../../docker/containerSpec';
import { ARITH_BASIC_ID } from '../../datasets/builtin/arithBasic';
import { requireEnv } from '../support/env';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { ensureFlagevalPackageImage } from '../support/flagevalServing/packageImage';
import { useTestStack } from '../support/testStack';
import { until } from '../support/until';

useServingSettings({ hostId: `flageval-host-${process.pid}` });

const docker = connectDocker(requireEnv('DOCKER_HOST'));
const IMAGE = `registry.example.test/team-${process.pid}/flageval-serving:0.2.5`;
let key: string;
let imageId: string;

beforeAll(async () => {
  await ensureFlagevalPackageImage(docker, IMAGE);
}, 600_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });
beforeAll(async () => {
  key = (await stack.api.createUser()).apiKey;
  const [repository, tag] = [IMAGE.slice(0, IMAGE.lastIndexOf(':')), IMAGE.slice(IMAGE.lastIndexOf(':') + 1)];
  const imported = await stack.api.request('POST', '/v1/images', {
    key,
    body: {
      name: `flageval-serving-${process.pid}`,
      tag,
      url: `${repository}:${tag}`,
      dockerfile:
        'FROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir flageval-serving==0.2.5\n' +
        'WORKDIR /workspace\nENTRYPOINT ["flageval-serving", "--service", "service:Service", "run", "--stage", "production", "model"]\n',
      domains: ['nlp'],
    },
  });
  expect(imported.status, imported.text).toBe(201);
  imageId = imported.body.id as string;
  const approved = await stack.api.request('POST', `/v1/images/${imageId}/approve`, {
    key: stack.api.adminKey,
    body: {},
  });
  expect(approved.status, approved.text).toBe(200);
});

afterAll(async () => {
  await docker
    .getImage(IMAGE)
    .remove({ force: true })
    .catch(() => undefined);
});

async function logsOf(runId: string): Promise<string[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return (res.body.items as { message: string }[]).map((l) => l.message);
}

async function containersOf(runId: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
}

describe('an image serving with the real flageval-serving package', () => {
  it('serves a verification: ready without /health, answers /func, and its output is the run’s logs', async () => {
    const { evaluationId } = await createPrivateModel(stack.api, key, { imageId, datasets: [ARITH_BASIC_ID] });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: { samplesPerDataset: 3 },
    });
    expect(launched.status, launched.text).toBe(202);
    const runId = launched.body.runId as string;
    const run = await waitForRunEnd(stack.api, key, runId, 180_000);
    expect(run.status, run.error ?? '').toBe('succeeded');
    const results = await stack.api.request('GET', `/v1/runs/${runId}/results`, { key });
    const items = results.body.items as { label: string; predict: string; score: number }[];
    expect(items).toHaveLength(3);
    // The reference upload answers the built-in arithmetic exactly.
    for (const item of items) expect(item).toMatchObject({ predict: item.label, score: 1 });

    const logs = await logsOf(runId);
    expect(logs.some((l) => l.includes(`from ${IMAGE} (upload v1`))).toBe(true);
    expect(
      logs.some((l) => /Booting worker with pid/.test(l)),
      logs.join('\n'),
    ).toBe(true);
    expect(logs.some((l) => l.includes('Initialized model path: model'))).toBe(true);
    expect(logs.some((l) => l.includes('model service healthy at'))).toBe(true);
    expect(await containersOf(runId)).toEqual([]);
  }, 240_000);

  it('stops a formal run mid-way and leaves no container', async () => {
    const { evaluationId } = await createPrivateModel(stack.api, key, {
      imageId,
      datasets: [ARITH_BASIC_ID],
      knobs: { latency_ms: 50 },
    });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key, body: {} });
    expect(launched.status, launched.text).toBe(202);
    const runId = launched.body.runId as string;
    await until(
      'samples answered by the package’s server',
      async () => {
        const view = await stack.api.request('GET', `/v1/runs/${runId}`, { key });
        return (view.body.datasets?.[0]?.done ?? 0) >= 5;
      },
      180_000,
      250,
    );
    const stop = await stack.api.request('POST', `/v1/runs/${runId}/stop`, { key });
    expect(stop.status, stop.text).toBe(202);
    const run = await waitForRunEnd(stack.api, key, runId, 120_000);
    expect(run.status).toBe('stopped');
    expect(run.datasets[0]!.done).toBeLessThan(run.datasets[0]!.total);
    await until('the model container to be removed', async () => (await containersOf(runId)).length === 0, 60_000);
  }, 300_000);
});
