/**
 * Making sure the engine has the image a run's container starts from: the platform's own images
 * (the NLP serving image, the multimodal runtime, the example evaluation image) are built here (there is no registry to
 * pull them from), a user's imported image is pulled.
 */
import type Dockerode from 'dockerode';
import { ImagePullError } from './containerErrors';
import { describeDocker, dockerStatus, errorText, readProgress, type ProgressEvent } from './engine';
import { ensureEvalExampleImage, EVAL_EXAMPLE_IMAGE_REF } from './evalExampleImage';
import { ensureMultimodalRuntimeImage, MULTIMODAL_RUNTIME_IMAGE_REF } from './multimodalRuntimeImage';
import { ensureNlpServingImage, NLP_SERVING_IMAGE_REF, type ServingImageOptions } from './servingImage';

export interface EnsureImageOptions {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  servingImage?: ServingImageOptions;
}

export async function ensureImage(docker: Dockerode, ref: string, o: EnsureImageOptions = {}): Promise<string> {
  if (ref === NLP_SERVING_IMAGE_REF) return ensureNlpServingImage(docker, o.servingImage);
  if (ref === EVAL_EXAMPLE_IMAGE_REF) return ensureEvalExampleImage(docker, o.servingImage);
  if (ref === MULTIMODAL_RUNTIME_IMAGE_REF) return ensureMultimodalRuntimeImage(docker, o.servingImage);
  if (await hasImage(docker, ref)) return ref;
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
  return ref;
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
