/**
 * Making sure the engine has the image a run's container starts from: the platform's own images
 * (the NLP serving image, the multimodal runtime, the example evaluation image, the backbone image) are built here
 * (there is no registry to pull them from), a user's imported image is pulled.
 */
import type Dockerode from 'dockerode';
import { ImagePullError, ImageTooLargeError } from './containerErrors';
import { describeDocker, dockerStatus, errorText, readProgress, type ProgressEvent } from './engine';
import { BACKBONE_TORCH_IMAGE_REF, ensureBackboneImage } from './backboneImage';
import { ensureEvalExampleImage, EVAL_EXAMPLE_IMAGE_REF } from './evalExampleImage';
import { ensureMultimodalRuntimeImage, MULTIMODAL_RUNTIME_IMAGE_REF } from './multimodalRuntimeImage';
import { ensureNlpServingImage, NLP_SERVING_IMAGE_REF, type ServingImageOptions } from './servingImage';

export interface EnsureImageOptions {
  signal?: AbortSignal;
  /** A user's image larger than this is refused (and removed when this call pulled it); the platform's are exempt. */
  maxImageBytes?: number;
  onProgress?: (event: ProgressEvent) => void;
  servingImage?: ServingImageOptions;
}

export async function ensureImage(docker: Dockerode, ref: string, o: EnsureImageOptions = {}): Promise<string> {
  if (ref === NLP_SERVING_IMAGE_REF) return ensureNlpServingImage(docker, o.servingImage);
  if (ref === EVAL_EXAMPLE_IMAGE_REF) return ensureEvalExampleImage(docker, o.servingImage);
  if (ref === MULTIMODAL_RUNTIME_IMAGE_REF) return ensureMultimodalRuntimeImage(docker, o.servingImage);
  if (ref === BACKBONE_TORCH_IMAGE_REF) return ensureBackboneImage(docker, { log: o.servingImage?.log });
  if (await hasImage(docker, ref)) return withinLimit(docker, ref, o.maxImageBytes, false);
  try {
    const stream = await docker.pull(ref, { abortSignal: o.signal });
    await readProgress(docker, stream, o.onProgress);
  } catch (error) {
    if (o.signal?.aborted) throw error;
    throw new ImagePullError(
      `could not pull image ${ref} onto the Docker host ${describeDocker(docker)}: ${errorText(error)}`,
    );
  }
  if (!(await hasImage(docker, ref)))
    throw new ImagePullError(`pulling image ${ref} finished but the engine does not have it`);
  return withinLimit(docker, ref, o.maxImageBytes, true);
}

const GIB = 2 ** 30;

/** The image, unless it is larger than the limit: then refused, and removed if it was just pulled. */
async function withinLimit(
  docker: Dockerode,
  ref: string,
  limit: number | undefined,
  pulled: boolean,
): Promise<string> {
  if (limit === undefined) return ref;
  const { Size: size } = await docker.getImage(ref).inspect();
  if (size <= limit) return ref;
  if (pulled)
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  throw new ImageTooLargeError(
    `image ${ref} is ${formatSize(size)}, above the ${formatSize(limit)} an image may take on this platform (PROCTOR_MAX_IMAGE_BYTES); ` +
      'make it smaller (fewer layers, no caches or build tools) and import it again',
  );
}

function formatSize(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function hasImage(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (error) {
    if (dockerStatus(error) === 404) return false;
    throw error;
  }
}
