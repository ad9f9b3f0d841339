/**
 * A stand-in evaluation image for the custom-image tests (images/job-behaviours): what it does is
 * chosen per dataset by its parameters (write metrics, garbage, nothing, too much; exit non-zero,
 * hang, run out of memory; ask the model slowly). Built from this machine's Python like the
 * platform's images, under a tag of its own; tests import it as a user's image by that tag.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { ensureHostPythonImage, moduleImageConfig, type HostPythonImageSpec } from '../../docker/hostPythonImage';
import { SERVING_UID } from '../../docker/servingRootfs';

export const JOB_BEHAVIOURS_IMAGE_REF = 'proctor-test/job-behaviours:1';

const SPEC: HostPythonImageSpec = {
  ref: JOB_BEHAVIOURS_IMAGE_REF,
  inputsLabel: 'proctor.test-job-behaviours.inputs',
  recipe: 1,
  packageDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'images/job-behaviours/python'),
  what: 'test job behaviours',
  config: moduleImageConfig({ module: 'proctor_job_behaviours', workdir: '/tmp', user: SERVING_UID, isolated: true }),
};

export function ensureJobBehavioursImage(docker: Dockerode): Promise<string> {
  return ensureHostPythonImage(docker, SPEC);
}
