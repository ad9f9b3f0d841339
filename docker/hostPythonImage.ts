/**
 * Builds an image from this machine's Python on the engine itself, with no registry: the root file
 * system from servingRootfs.ts (the interpreter, its standard library, one package of ours or none,
 * and the host commands the image asks for), streamed as a tar into the engine's image import with
 * the entrypoint, user and environment set as import changes (rootfsImport.ts). The image is
 * labelled with a hash of its inputs, so it is rebuilt only when they change (a new Python, a
 * changed package). Two processes building at once both import; the tag ends on one of two equal
 * images and the spare is pruned, so racing costs a second or so of work and nothing else.
 */
import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import { describeDocker } from './engine';
import { inspectHostPython, type HostPython } from './hostPython';
import { importRootfs, inspectImage } from './rootfsImport';
import { servingRootfs } from './servingRootfs';
import { tarStream, type TarEntry } from './tarStream';

export interface HostPythonImageSpec {
  /** `repository:tag`. */
  ref: string;
  /** The label holding the inputs hash; one per image kind. */
  inputsLabel: string;
  /** Bump when the way the image is assembled changes without any of its files changing. */
  recipe: number;
  /** Our Python package copied into the image, if it has one. */
  packageDir?: string;
  /** Host commands the image carries in /bin (servingRootfs.ts), e.g. a shell for a job's script. */
  commands?: readonly string[];
  /** What the image is, e.g. 'NLP serving': in log and error messages and the import's commit message. */
  what: string;
  /** Dockerfile-style import changes: ENTRYPOINT, WORKDIR, ENV, USER, LABEL. */
  config(python: HostPython, env: Record<string, string>): string[];
}

export interface HostPythonImageOptions {
  /** The Python to copy into the image; `python3` on PATH by default. */
  python?: string;
  log?: (line: string) => void;
  /** Told when an image was actually built (not when an up-to-date one was found). */
  onBuilt?: (build: HostPythonImageBuild) => void;
}

export interface HostPythonImageBuild {
  ref: string;
  imageId: string;
  inputsHash: string;
  buildMs: number;
  sizeBytes: number;
  files: number;
}

/**
 * The import changes of an image whose entrypoint runs one module of our package with the image's
 * Python, as the unprivileged `user`. `isolated` adds -I (no PYTHON* variables, no user site, no
 * script directory on sys.path) and -B (the root is read-only, so no bytecode is written anyway,
 * and trying would only cost time).
 */
export function moduleImageConfig(o: {
  module: string;
  workdir: string;
  user: number;
  isolated?: boolean;
}): HostPythonImageSpec['config'] {
  const entrypoint = ['/usr/local/bin/python3', ...(o.isolated ? ['-I', '-B'] : []), '-m', o.module];
  return (python, env) => [
    `ENTRYPOINT ${JSON.stringify(entrypoint).replace(/","/g, '", "')}`,
    `WORKDIR ${o.workdir}`,
    ...Object.entries({ ...env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }).map(([k, v]) => `ENV ${k}=${v}`),
    `USER ${o.user}`,
    `LABEL proctor.image.python=${python.fullVersion}`,
  ];
}

// One build per image and engine at a time in this process; other processes are handled after the import.
const inFlight = new Map<string, Promise<string>>();

/** Resolves to `spec.ref` once the engine has an image built from the current inputs. */
export function ensureHostPythonImage(
  docker: Dockerode,
  spec: HostPythonImageSpec,
  opts: HostPythonImageOptions = {},
): Promise<string> {
  const key = `${spec.ref} ${describeDocker(docker)} ${opts.python ?? 'python3'}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = ensure(docker, spec, opts).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function ensure(docker: Dockerode, spec: HostPythonImageSpec, opts: HostPythonImageOptions): Promise<string> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const python = await inspectHostPython(opts.python);
  const rootfs = await servingRootfs(python, { packageDir: spec.packageDir, commands: spec.commands });
  const config = spec.config(python, rootfs.env);
  const inputsHash = hashInputs(spec.recipe, rootfs.entries, config);

  const existing = await inspectImage(docker, spec.ref);
  if (existing?.Config?.Labels?.[spec.inputsLabel] === inputsHash) return spec.ref;

  log(
    `building ${spec.ref} from Python ${python.fullVersion} at ${python.executable}${existing ? ' (its inputs changed)' : ''}`,
  );
  for (const warning of rootfs.warnings) log(warning);
  const now = await importRootfs(docker, tarStream(rootfs.entries), {
    ref: spec.ref,
    inputsLabel: spec.inputsLabel,
    inputsHash,
    changes: config,
    message: `Proctor ${spec.what} image (Python ${python.fullVersion})`,
    what: spec.what,
  });

  const build = {
    ref: spec.ref,
    imageId: now.Id,
    inputsHash,
    buildMs: Date.now() - started,
    sizeBytes: now.Size,
    files: rootfs.entries.length,
  };
  log(
    `built ${spec.ref} (${now.Id.slice(7, 19)}, ${(build.sizeBytes / 2 ** 20).toFixed(1)} MiB) in ${(build.buildMs / 1000).toFixed(1)} s`,
  );
  opts.onBuilt?.(build);
  return spec.ref;
}

/** Files by where they come from and when they last changed; our own small files by content. */
function hashInputs(recipe: number, entries: TarEntry[], config: string[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ recipe, config }));
  for (const e of entries) {
    const source =
      e.type === 'file'
        ? `${e.from} ${e.size} ${e.mtimeMs}`
        : e.type === 'data'
          ? createHash('sha256').update(e.data).digest('hex')
          : e.type === 'symlink'
            ? e.target
            : '';
    hash.update(`\n${e.type} ${e.path} ${'mode' in e ? e.mode.toString(8) : ''} ${source}`);
  }
  return hash.digest('hex');
}
