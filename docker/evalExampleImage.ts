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
import { ensureHostPythonImage, type HostPythonImageOptions, type HostPythonImageSpec } from './hostPythonImage';
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
  config: (python, env) => [
    // -I: no PYTHON* variables, no user site, no script directory on sys.path; -B: the root is
    // read-only, so no bytecode is written anyway, and trying would only cost time.
    'ENTRYPOINT ["/usr/local/bin/python3", "-I", "-B", "-m", "proctor_eval_example"]',
    'WORKDIR /tmp',
    ...Object.entries({ ...env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }).map(([k, v]) => `ENV ${k}=${v}`),
    `USER ${SERVING_UID}`,
    `LABEL proctor.image.python=${python.fullVersion}`,
  ],
};

/** Resolves to EVAL_EXAMPLE_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureEvalExampleImage(docker: Dockerode, opts: EvalExampleImageOptions = {}): Promise<string> {
  return ensureHostPythonImage(docker, SPEC, opts);
}
