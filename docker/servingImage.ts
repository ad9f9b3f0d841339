/**
 * The platform's preloaded NLP image, built on the engine itself with no registry: the root file
 * system from servingRootfs.ts, streamed as a tar into the engine's image import, with the
 * entrypoint, user and environment set as import changes. The image is labelled with a hash of its
 * inputs, so it is rebuilt only when they change (a new Python, a changed serving package).
 * Two processes building at once both import; the tag ends on one of two equal images and the
 * spare is pruned, so racing costs a second or so of work and nothing else.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { describeDocker, dockerStatus, errorText, readProgress } from './engine';
import { inspectHostPython } from './hostPython';
import { SERVING_UID, servingRootfs } from './servingRootfs';
import { tarStream, type TarEntry } from './tarStream';

import { NLP_SERVING_IMAGE_REF } from '../contracts/platformImages';

// The platform catalog names the reference; this file builds the image under it.
export { NLP_SERVING_IMAGE_REF };
const [REPOSITORY, TAG] = NLP_SERVING_IMAGE_REF.split(':') as [string, string];
export const IMAGE_INPUTS_LABEL = 'proctor.image.inputs';
/** Bump when the way the image is assembled changes without any of its files changing. */
const RECIPE = 1;
const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'images/nlp-serving/python');

export interface ServingImageOptions {
  /** The Python to copy into the image; `python3` on PATH by default. */
  python?: string;
  log?: (line: string) => void;
  /** Told when an image was actually built (not when an up-to-date one was found). */
  onBuilt?: (build: ServingImageBuild) => void;
}

export interface ServingImageBuild {
  ref: string;
  imageId: string;
  inputsHash: string;
  buildMs: number;
  sizeBytes: number;
  files: number;
}

// One build per engine at a time in this process; other processes are handled after the import.
const inFlight = new Map<string, Promise<string>>();

/** Resolves to NLP_SERVING_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureNlpServingImage(docker: Dockerode, opts: ServingImageOptions = {}): Promise<string> {
  const key = `${describeDocker(docker)} ${opts.python ?? 'python3'}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = ensure(docker, opts).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function ensure(docker: Dockerode, opts: ServingImageOptions): Promise<string> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const python = await inspectHostPython(opts.python);
  const rootfs = await servingRootfs(python, PACKAGE_DIR);
  const config = [
    'ENTRYPOINT ["/usr/local/bin/python3", "-m", "proctor_serving"]',
    'WORKDIR /workspace',
    ...Object.entries({ ...rootfs.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }).map(([k, v]) => `ENV ${k}=${v}`),
    `USER ${SERVING_UID}`,
    `LABEL proctor.image.python=${python.fullVersion}`,
  ];
  const inputsHash = hashInputs(rootfs.entries, config);

  const existing = await inspectImage(docker, NLP_SERVING_IMAGE_REF);
  if (existing?.Config?.Labels?.[IMAGE_INPUTS_LABEL] === inputsHash) return NLP_SERVING_IMAGE_REF;

  log(`building ${NLP_SERVING_IMAGE_REF} from Python ${python.fullVersion} at ${python.executable}${existing ? ' (its inputs changed)' : ''}`);
  for (const warning of rootfs.warnings) log(warning);
  try {
    const stream = await docker.importImage(tarStream(rootfs.entries), {
      repo: REPOSITORY,
      tag: TAG,
      message: `Proctor NLP serving image (Python ${python.fullVersion})`,
      changes: [...config, `LABEL ${IMAGE_INPUTS_LABEL}=${inputsHash}`],
    });
    await readProgress(docker, stream);
  } catch (error) {
    throw new Error(`could not import the NLP serving image into the Docker engine at ${describeDocker(docker)}: ${errorText(error)}`);
  }

  const now = await inspectImage(docker, NLP_SERVING_IMAGE_REF);
  if (now?.Config?.Labels?.[IMAGE_INPUTS_LABEL] !== inputsHash) {
    throw new Error(`${NLP_SERVING_IMAGE_REF} was replaced while it was built by an image of other inputs; is another Proctor with another Python using this engine?`);
  }
  await pruneSupersededImages(docker);

  const build = { ref: NLP_SERVING_IMAGE_REF, imageId: now.Id, inputsHash, buildMs: Date.now() - started, sizeBytes: now.Size, files: rootfs.entries.length };
  log(`built ${NLP_SERVING_IMAGE_REF} (${now.Id.slice(7, 19)}, ${(build.sizeBytes / 2 ** 20).toFixed(1)} MiB) in ${(build.buildMs / 1000).toFixed(1)} s`);
  opts.onBuilt?.(build);
  return NLP_SERVING_IMAGE_REF;
}

/** Files by where they come from and when they last changed; our own small files by content. */
function hashInputs(entries: TarEntry[], config: string[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ recipe: RECIPE, config }));
  for (const e of entries) {
    const source =
      e.type === 'file' ? `${e.from} ${e.size} ${e.mtimeMs}` : e.type === 'data' ? createHash('sha256').update(e.data).digest('hex') : e.type === 'symlink' ? e.target : '';
    hash.update(`\n${e.type} ${e.path} ${'mode' in e ? e.mode.toString(8) : ''} ${source}`);
  }
  return hash.digest('hex');
}

async function inspectImage(docker: Dockerode, ref: string): Promise<Dockerode.ImageInspectInfo | null> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return null;
    throw error;
  }
}

/**
 * Builds this one replaced, and the spare of a build that raced another process's (both imported,
 * one tag won): untagged images with our label, except those a container still uses.
 */
async function pruneSupersededImages(docker: Dockerode): Promise<void> {
  const spares = await docker.listImages({ filters: { label: [IMAGE_INPUTS_LABEL], dangling: ['true'] } });
  for (const image of spares) {
    try {
      await docker.getImage(image.Id).remove({ noprune: false });
    } catch (error) {
      // 404: another process pruned it first; 409: a container still uses it.
      if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error;
    }
  }
}
