/**
 * The image code-generation answers run in, `proctor-code-sandbox:1`: this machine's Python and
 * its standard library (the same root file system the NLP serving image is made of, see
 * servingRootfs.ts) with the sandbox runner from images/code-sandbox/python as its entrypoint.
 * Built on the engine itself with no registry, and rebuilt only when its inputs change; it carries
 * its own inputs label, so the serving image's pruning never touches it and the other way round.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { describeDocker, dockerStatus, errorText, readProgress } from './engine';
import { inspectHostPython } from './hostPython';
import { SERVING_UID, servingRootfs } from './servingRootfs';
import { tarStream, type TarEntry } from './tarStream';

export const CODE_SANDBOX_IMAGE_REF = 'proctor-code-sandbox:1';
export const SANDBOX_IMAGE_INPUTS_LABEL = 'proctor.sandbox-image.inputs';
/** The unprivileged user the runner runs as (nobody, which the image's /etc/passwd knows). */
export const SANDBOX_UID = SERVING_UID;
const [REPOSITORY, TAG] = CODE_SANDBOX_IMAGE_REF.split(':') as [string, string];
/** Bump when the way the image is assembled changes without any of its files changing. */
const RECIPE = 1;
const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'images/code-sandbox/python');

export interface CodeSandboxImageOptions {
  /** The Python to copy into the image; `python3` on PATH by default. */
  python?: string;
  log?: (line: string) => void;
  /** Told when the image was actually built (not when an up-to-date one was found). */
  onBuilt?: (build: { ref: string; imageId: string; inputsHash: string; buildMs: number }) => void;
}

const inFlight = new Map<string, Promise<string>>();

/** Resolves to CODE_SANDBOX_IMAGE_REF once the engine has an image built from the current inputs. */
export function ensureCodeSandboxImage(docker: Dockerode, opts: CodeSandboxImageOptions = {}): Promise<string> {
  const key = `${describeDocker(docker)} ${opts.python ?? 'python3'}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = ensure(docker, opts).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function ensure(docker: Dockerode, opts: CodeSandboxImageOptions): Promise<string> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const python = await inspectHostPython(opts.python);
  const rootfs = await servingRootfs(python, PACKAGE_DIR);
  const config = [
    // -I: no PYTHON* variables, no user site, no script directory on sys.path; -B: the root is
    // read-only, so no bytecode is written anyway, and trying would only cost time.
    'ENTRYPOINT ["/usr/local/bin/python3", "-I", "-B", "-m", "proctor_sandbox"]',
    'WORKDIR /tmp',
    ...Object.entries({ ...rootfs.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }).map(([k, v]) => `ENV ${k}=${v}`),
    `USER ${SANDBOX_UID}`,
    `LABEL proctor.image.python=${python.fullVersion}`,
  ];
  const inputsHash = hashInputs(rootfs.entries, config);

  const existing = await inspectImage(docker, CODE_SANDBOX_IMAGE_REF);
  if (existing?.Config?.Labels?.[SANDBOX_IMAGE_INPUTS_LABEL] === inputsHash) return CODE_SANDBOX_IMAGE_REF;

  log(`building ${CODE_SANDBOX_IMAGE_REF} from Python ${python.fullVersion}${existing ? ' (its inputs changed)' : ''}`);
  for (const warning of rootfs.warnings) log(warning);
  try {
    const stream = await docker.importImage(tarStream(rootfs.entries), {
      repo: REPOSITORY,
      tag: TAG,
      message: `Proctor code sandbox (Python ${python.fullVersion})`,
      changes: [...config, `LABEL ${SANDBOX_IMAGE_INPUTS_LABEL}=${inputsHash}`],
    });
    await readProgress(docker, stream);
  } catch (error) {
    throw new Error(`could not import the code sandbox image into the Docker engine at ${describeDocker(docker)}: ${errorText(error)}`);
  }
  const now = await inspectImage(docker, CODE_SANDBOX_IMAGE_REF);
  if (now?.Config?.Labels?.[SANDBOX_IMAGE_INPUTS_LABEL] !== inputsHash) {
    throw new Error(`${CODE_SANDBOX_IMAGE_REF} was replaced while it was built by an image of other inputs; is another Proctor with another Python using this engine?`);
  }
  await pruneSuperseded(docker);
  const build = { ref: CODE_SANDBOX_IMAGE_REF, imageId: now.Id, inputsHash, buildMs: Date.now() - started };
  log(`built ${CODE_SANDBOX_IMAGE_REF} (${now.Id.slice(7, 19)}) in ${(build.buildMs / 1000).toFixed(1)} s`);
  opts.onBuilt?.(build);
  return CODE_SANDBOX_IMAGE_REF;
}

/** Files by where they come from and when they last changed; the runner's files by content. */
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

/** Older builds this one replaced, unless a sandbox still runs from one (409). */
async function pruneSuperseded(docker: Dockerode): Promise<void> {
  const spares = await docker.listImages({ filters: { label: [SANDBOX_IMAGE_INPUTS_LABEL], dangling: ['true'] } });
  for (const image of spares) {
    try {
      await docker.getImage(image.Id).remove({ noprune: false });
    } catch (error) {
      if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error;
    }
  }
}
