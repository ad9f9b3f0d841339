/**
 * The platform's preloaded NLP image, `proctor-nlp-serving:1`: this machine's Python and its
 * standard library with our flageval-serving-compatible package (images/nlp-serving/python) as its
 * entrypoint, built on the engine itself with no registry (hostPythonImage.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import {
  ensureHostPythonImage,
  moduleImageConfig,
  type HostPythonImageBuild,
  type HostPythonImageOptions,
  type HostPythonImageSpec,
} from './hostPythonImage';
import { SERVING_UID } from './servingRootfs';
import { NLP_SERVING_IMAGE_REF } from '../contracts/platformImages';

// The platform catalog names the reference; this file builds the image under it.
export { NLP_SERVING_IMAGE_REF };
export const IMAGE_INPUTS_LABEL = 'proctor.image.inputs';
export type ServingImageOptions = HostPythonImageOptions;
export type ServingImageBuild = HostPythonImageBuild;

const SPEC: HostPythonImageSpec = {
  ref: NLP_SERVING_IMAGE_REF,
  inputsLabel: IMAGE_INPUTS_LABEL,
  recipe: 1,
  packageDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'images/nlp-serving/python'),
  what: 'NLP serving',
  config: moduleImageConfig({ module: 'proctor_serving', workdir: '/workspace', user: SERVING_UID }),
};

/** Resolves to NLP_SERVING_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureNlpServingImage(docker: Dockerode, opts: ServingImageOptions = {}): Promise<string> {
  return ensureHostPythonImage(docker, SPEC, opts);
}
