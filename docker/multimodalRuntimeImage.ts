/**
 * The platform's image for multimodal private deployments, `proctor/multimodal-runtime:1`: a job
 * runs the user's upload in it as `bash run.sh TASK SERVER_IP SERVER_PORT`, so besides this
 * machine's Python and its standard library it carries bash, /bin/sh and the coreutils a run.sh
 * commonly calls, each copied from this machine with the shared libraries it loads. Built on the
 * engine itself with no registry (hostPythonImage.ts); its own inputs label keeps the other
 * images' pruning away from it and the other way round.
 */
import type Dockerode from 'dockerode';
import { ensureHostPythonImage, type HostPythonImageOptions, type HostPythonImageSpec } from './hostPythonImage';
import { SERVING_UID } from './servingRootfs';

import { MULTIMODAL_RUNTIME_IMAGE_REF } from '../contracts/platformImages';

export { MULTIMODAL_RUNTIME_IMAGE_REF };
export const MULTIMODAL_RUNTIME_IMAGE_INPUTS_LABEL = 'proctor.multimodal-runtime-image.inputs';
export type MultimodalRuntimeImageOptions = HostPythonImageOptions;

/**
 * The shells and the coreutils a run.sh is likely to use around its `python3` line (finding its own
 * directory, making an output folder, printing a file); echo, cd, test and the like are bash's own.
 */
export const MULTIMODAL_RUNTIME_COMMANDS = [
  'bash',
  'sh',
  'basename',
  'cat',
  'cp',
  'date',
  'dirname',
  'env',
  'head',
  'ln',
  'ls',
  'mkdir',
  'mv',
  'nproc',
  'readlink',
  'realpath',
  'rm',
  'sleep',
  'tail',
  'touch',
  'wc',
] as const;

const SPEC: HostPythonImageSpec = {
  ref: MULTIMODAL_RUNTIME_IMAGE_REF,
  inputsLabel: MULTIMODAL_RUNTIME_IMAGE_INPUTS_LABEL,
  recipe: 1,
  commands: MULTIMODAL_RUNTIME_COMMANDS,
  what: 'multimodal runtime',
  // No entrypoint: the job names its command (bash run.sh …) and the directory it runs in.
  config: (python, env) => [
    'CMD ["/bin/bash"]',
    'WORKDIR /tmp',
    ...Object.entries({ ...env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }).map(([k, v]) => `ENV ${k}=${v}`),
    `USER ${SERVING_UID}`,
    `LABEL proctor.image.python=${python.fullVersion}`,
  ],
};

/** Resolves to MULTIMODAL_RUNTIME_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureMultimodalRuntimeImage(
  docker: Dockerode,
  opts: MultimodalRuntimeImageOptions = {},
): Promise<string> {
  return ensureHostPythonImage(docker, SPEC, opts);
}
