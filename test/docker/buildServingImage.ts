/**
 * Builds the NLP serving image on the engine DOCKER_HOST names and prints one JSON line: what was
 * built (null when an up-to-date image was found). A separate process, so a test can run two at once.
 *
 *   DOCKER_HOST=unix:///…/docker.sock node --import tsx test/docker/buildServingImage.ts
 */
import { connectDocker } from '../../docker/engine';
import { ensureNlpServingImage, type ServingImageBuild } from '../../docker/servingImage';

let built: ServingImageBuild | null = null;
const ref = await ensureNlpServingImage(connectDocker(process.env.DOCKER_HOST ?? null), {
  log: (line) => process.stderr.write(`${line}\n`),
  onBuilt: (build) => (built = build),
});
process.stdout.write(`${JSON.stringify({ ref, built })}\n`);
