/**
 * The seed's image size limit (40 GiB; PROCTOR_MAX_IMAGE_BYTES) on a user's image a run starts
 * from, on the test run's engine: an image within the limit is used, one above it is refused with
 * its size and the limit in the reason, and the platform's own images are exempt. (No registry is
 * reachable: the "user image" is the serving image tagged under a registry-style name, which is
 * what a pull leaves behind.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../docker/engine';
import { ensureImage } from '../../docker/ensureImage';
import { ImageTooLargeError } from '../../docker/containerErrors';
import { ensureNlpServingImage, NLP_SERVING_IMAGE_REF } from '../../docker/servingImage';
import { loadEnv, MAX_IMAGE_BYTES } from '../../config/env';
import { requireEnv } from '../support/env';

const docker = connectDocker(requireEnv('DOCKER_HOST'));
const USER_REPO = `registry.example.test/size-${process.pid}/serving`;
const USER_IMAGE = `${USER_REPO}:v1`;
let size: number;

beforeAll(async () => {
  await ensureNlpServingImage(docker);
  await docker.getImage(NLP_SERVING_IMAGE_REF).tag({ repo: USER_REPO, tag: 'v1' });
  size = (await docker.getImage(USER_IMAGE).inspect()).Size;
}, 300_000);

afterAll(async () => {
  await docker
    .getImage(USER_IMAGE)
    .remove()
    .catch(() => undefined);
});

describe('the image size limit', () => {
  it('is 40 GiB unless PROCTOR_MAX_IMAGE_BYTES says otherwise', () => {
    const base = { ...process.env };
    expect(loadEnv(base).containers.maxImageBytes).toBe(MAX_IMAGE_BYTES);
    expect(MAX_IMAGE_BYTES).toBe(40 * 2 ** 30);
    expect(loadEnv({ ...base, PROCTOR_MAX_IMAGE_BYTES: '1048576' }).containers.maxImageBytes).toBe(1_048_576);
    expect(() => loadEnv({ ...base, PROCTOR_MAX_IMAGE_BYTES: '0' })).toThrow(
      /PROCTOR_MAX_IMAGE_BYTES must be an integer/,
    );
  });

  it('lets a user image within the limit through, and refuses one above it naming both sizes', async () => {
    expect(await ensureImage(docker, USER_IMAGE, { maxImageBytes: size })).toBe(USER_IMAGE);
    const refused = await ensureImage(docker, USER_IMAGE, { maxImageBytes: size - 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ImageTooLargeError);
    expect((refused as Error).message).toMatch(
      new RegExp(
        `^image ${USER_IMAGE.replace(/[.]/g, '\\.')} is [0-9.]+ MiB, above the [0-9.]+ MiB an image may take on this platform \\(PROCTOR_MAX_IMAGE_BYTES\\)`,
      ),
    );
    // An image found on the engine (not pulled by this call) is left there.
    expect((await docker.getImage(USER_IMAGE).inspect()).Size).toBe(size);
  });

  it('does not apply to the platform’s own images', async () => {
    expect(await ensureImage(docker, NLP_SERVING_IMAGE_REF, { maxImageBytes: 1 })).toBe(NLP_SERVING_IMAGE_REF);
  });
});
