/**
 * The backbone image for tests that run CV or Audio fine-tuning jobs: call it in `beforeAll` with
 * BACKBONE_IMAGE_SETUP_MS as the hook's limit. The first call of a test run on a fresh machine runs
 * debootstrap (a few minutes) and caches the root file system in ~/.cache/proctor; a fresh engine
 * imports that in well under a minute; after that the engine has the image and every other test
 * file finds it at once. Only files that need the image call this, so the rest of the suite never
 * waits for it.
 */
import { BACKBONE_TORCH_IMAGE_REF, ensureBackboneImage, type BackboneImageBuild } from '../../docker/backboneImage';
import { connectDocker } from '../../docker/engine';
import { requireEnv } from './env';

/** Enough for debootstrap on a slow mirror; a found image takes a second. */
export const BACKBONE_IMAGE_SETUP_MS = 20 * 60_000;

let ready: Promise<string> | null = null;

/** Resolves to BACKBONE_TORCH_IMAGE_REF once the test run's engine has the image. */
export function backboneImageForTests(onBuilt?: (build: BackboneImageBuild) => void): Promise<string> {
  ready ??= ensureBackboneImage(connectDocker(requireEnv('DOCKER_HOST')), {
    log: (line) => process.stderr.write(`[backbone image] ${line}\n`),
    onBuilt,
  }).catch((error: unknown) => {
    ready = null;
    throw error;
  });
  return ready;
}

export { BACKBONE_TORCH_IMAGE_REF };
