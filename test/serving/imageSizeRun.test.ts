/**
 * A private run whose user image is larger than the platform takes (here PROCTOR_MAX_IMAGE_BYTES
 * set to 1 MiB; 40 GiB by default) fails at once with a reason naming the image, its size and the
 * limit (not pulled again: too large stays too large), and starts no container. (The "user image" is the serving image tagged under a
 * registry-style name, as a pull would leave it.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { LABEL_RUN } from '../../docker/containerSpec';
import { ensureNlpServingImage, NLP_SERVING_IMAGE_REF } from '../../docker/servingImage';
import { requireEnv } from '../support/env';
import { createPrivateModel, useServingSettings, waitForRunEnd } from '../support/privateModel';
import { useTestStack } from '../support/testStack';

useServingSettings({ hostId: `size-host-${process.pid}` });
process.env.PROCTOR_MAX_IMAGE_BYTES = String(2 ** 20);

const docker = connectDocker(requireEnv('DOCKER_HOST'));
const USER_REPO = `registry.example.test/big-${process.pid}/serving`;
let key: string;

beforeAll(async () => {
  await ensureNlpServingImage(docker);
  await docker.getImage(NLP_SERVING_IMAGE_REF).tag({ repo: USER_REPO, tag: 'v1' });
}, 300_000);
const stack = useTestStack({ api: true, workers: ['runs', 'inference', 'containers'] });
beforeAll(async () => {
  key = (await stack.api.createUser()).apiKey;
});

afterAll(async () => {
  delete process.env.PROCTOR_MAX_IMAGE_BYTES;
  await docker
    .getImage(`${USER_REPO}:v1`)
    .remove()
    .catch(() => undefined);
});

describe('an image above the size limit', () => {
  it('fails its run with the sizes in the reason, with no container started', async () => {
    const imported = await stack.api.request('POST', '/v1/images', {
      key,
      body: {
        name: `big-serving-${process.pid}`,
        tag: 'v1',
        url: `${USER_REPO}:v1`,
        dockerfile: 'FROM nvcr.io/nvidia/pytorch:23.03-py3\nRUN pip install --no-cache-dir tiktoken\n',
        domains: ['nlp'],
      },
    });
    expect(imported.status, imported.text).toBe(201);
    const imageId = imported.body.id as string;
    expect(
      (await stack.api.request('POST', `/v1/images/${imageId}/approve`, { key: stack.api.adminKey, body: {} })).status,
    ).toBe(200);
    const { evaluationId } = await createPrivateModel(stack.api, key, { imageId });
    const launched = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: {},
    });
    expect(launched.status, launched.text).toBe(202);
    const run = await waitForRunEnd(stack.api, key, launched.body.runId, 60_000);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      new RegExp(
        `image ${USER_REPO.replace(/[.]/g, '\\.')}:v1 is [0-9.]+ MiB, above the 1\\.0 MiB an image may take on this platform`,
      ),
    );
    expect(
      await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${launched.body.runId}`] } }),
    ).toEqual([]);
  });
});
