/**
 * The image code-generation answers run in, `proctor-code-sandbox:1`: this machine's Python and
 * its standard library (the same root file system the NLP serving image is made of) with the
 * sandbox runner from images/code-sandbox/python as its entrypoint, built on the engine itself with
 * no registry (hostPythonImage.ts). Its own inputs label keeps the serving image's pruning away
 * from it and the other way round.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import {
  ensureHostPythonImage,
  moduleImageConfig,
  type HostPythonImageOptions,
  type HostPythonImageSpec,
} from './hostPythonImage';
import { SERVING_UID } from './servingRootfs';

export const CODE_SANDBOX_IMAGE_REF = 'proctor-code-sandbox:1';
export const SANDBOX_IMAGE_INPUTS_LABEL = 'proctor.sandbox-image.inputs';
/** The unprivileged user the runner runs as (nobody, which the image's /etc/passwd knows). */
export const SANDBOX_UID = SERVING_UID;
export type CodeSandboxImageOptions = HostPythonImageOptions;

const SPEC: HostPythonImageSpec = {
  ref: CODE_SANDBOX_IMAGE_REF,
  inputsLabel: SANDBOX_IMAGE_INPUTS_LABEL,
  recipe: 1,
  packageDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'images/code-sandbox/python'),
  what: 'code sandbox',
  config: moduleImageConfig({ module: 'proctor_sandbox', workdir: '/tmp', user: SANDBOX_UID, isolated: true }),
};

/** Resolves to CODE_SANDBOX_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureCodeSandboxImage(docker: Dockerode, opts: CodeSandboxImageOptions = {}): Promise<string> {
  return ensureHostPythonImage(docker, SPEC, opts);
}
