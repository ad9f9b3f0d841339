/**
 * The platform's example evaluation image, `proctor/eval-example:1`: this machine's Python and its
 * standard library (the root file system the NLP serving image is made of) with the small benchmark
 * in images/eval-example/python as its entrypoint, built on the engine itself with no registry
 * (hostPythonImage.ts). It runs as a container job and follows the custom evaluation image contract
 * (docs/custom-evaluation-images.md). Its own inputs label keeps the other images' pruning away
 * from it and the other way round.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { EVAL_EXAMPLE_IMAGE_REF } from '../contracts/platformImages';
import {
  ensureHostPythonImage,
  moduleImageConfig,
  type HostPythonImageOptions,
  type HostPythonImageSpec,
} from './hostPythonImage';
import { SERVING_UID } from './servingRootfs';

// The platform catalogue names the reference; this file builds the image under it.
export { EVAL_EXAMPLE_IMAGE_REF };
export const EVAL_EXAMPLE_IMAGE_INPUTS_LABEL = 'proctor.eval-example-image.inputs';
export type EvalExampleImageOptions = HostPythonImageOptions;

const SPEC: HostPythonImageSpec = {
  ref: EVAL_EXAMPLE_IMAGE_REF,
  inputsLabel: EVAL_EXAMPLE_IMAGE_INPUTS_LABEL,
  recipe: 1,
  packageDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'images/eval-example/python'),
  what: 'example evaluation',
  config: moduleImageConfig({ module: 'proctor_eval_example', workdir: '/tmp', user: SERVING_UID, isolated: true }),
};

/** Resolves to EVAL_EXAMPLE_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureEvalExampleImage(docker: Dockerode, opts: EvalExampleImageOptions = {}): Promise<string> {
  return ensureHostPythonImage(docker, SPEC, opts);
}
