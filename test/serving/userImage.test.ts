/**
 * A user's own image: imported for review, unusable until an admin approves it, then the image a
 * private run's container starts from. One whose reference cannot be pulled fails the run with a
 * reason that names the image, not with a hang. (No registry is reachable here: the "user image"
 * is the serving image tagged under a registry-style name on the engine, which is exactly what a
 * successful pull leaves behind.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage, NLP_SERVING_IMAGE_REF } from '../../docker/servingImage';
import { requireEnv } from '../support/env';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { useTestStack } from '../support/testStack';

useServingSettings({ hostId: `image-host-${process.pid}` });

const docker = connectDocker(requireEnv('DOCKER_HOST'));
const USER_REPO = `registry.example.test/team-${process.pid}/custom-serving`;
let key: string;

// The serving image is in place (built once per engine) and tagged as a user's before the workers
// that run it start.
beforeAll(async () => {
  await ensureNlpServingImage(docker);
  await docker.getImage(NLP_SERVING_IMAGE_REF).tag({ repo: USER_REPO, tag: 'v2' });
}, 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });
beforeAll(async () => {
  key = (await stack.api.createUser()).apiKey;
});

afterAll(async () => {
  await docker
    .getImage(`${USER_REPO}:v2`)
    .remove()
    .catch(() => undefined);
});

async function importImage(name: string, url: string): Promise<string> {
  const res = await stack.api.request('POST', '/v1/images', {
    key,
    body: {
      name,
      tag: 'v2',
      url,
      dockerfile: 'FROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir tiktoken\n',
      domains: ['nlp'],
    },
  });
  expect(res.status, res.text).toBe(201);
  expect(res.body.status).toBe('pending');
  return res.body.id as string;
}

async function approve(imageId: string): Promise<void> {
  const res = await stack.api.request('POST', `/v1/images/${imageId}/approve`, { key: stack.api.adminKey, body: {} });
  expect(res.status, res.text).toBe(200);
}

describe('a user image', () => {
  it('cannot be used while pending, and serves a private run once approved', async () => {
    const imageId = await importImage(`custom-serving-${process.pid}`, `${USER_REPO}:v2`);
    const pending = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: nlpEvaluationBody({
        deployment: { method: 'private', imageId, priority: 'low', gpuType: 'cpu', gpuCount: 1 },
      }),
    });
    expect(pending.status).toBe(400);
    expect(JSON.stringify(pending.body.errors)).toContain('deployment.imageId');

    await approve(imageId);
    const { evaluationId } = await createPrivateModel(stack.api, key, { imageId });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: {},
    });
    expect(launched.status, launched.text).toBe(202);
    const run = await waitForRunEnd(stack.api, key, launched.body.runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    const logs = (
      (await stack.api.request('GET', `/v1/runs/${launched.body.runId}/logs`, { key })).body.items as {
        message: string;
      }[]
    ).map((l) => l.message);
    expect(logs.some((l) => l.includes(`from ${USER_REPO}:v2 (upload v1`))).toBe(true);
  });

  it('that cannot be pulled fails the run with a reason naming the image', async () => {
    const missing = `registry.invalid/team-${process.pid}/missing:v2`;
    const imageId = await importImage(`missing-serving-${process.pid}`, missing);
    await approve(imageId);
    const { evaluationId } = await createPrivateModel(stack.api, key, { imageId });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: {},
    });
    expect(launched.status, launched.text).toBe(202);
    const run = await waitForRunEnd(stack.api, key, launched.body.runId, 120_000);
    expect(run.status).toBe('failed');
    expect(run.error).toContain(`could not pull image ${missing}`);
  });
});
