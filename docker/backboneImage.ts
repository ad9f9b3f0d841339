/**
 * The image CV and Audio backbone fine-tuning jobs run in, `proctor/backbone-torch:1`: a Debian
 * bookworm root file system made by `debootstrap --variant=minbase` with Python 3.11, Debian's
 * PyTorch 1.13.1 (CPU), NumPy and espeak-ng, trimmed of what a job never reads, and imported into
 * the engine with no registry (rootfsImport.ts). PyPI's torch wheels would bring gigabytes of CUDA
 * libraries; Debian's come from the same mirror this machine's apt uses (debianMirror.ts).
 *
 * The image is labelled with a hash of its recipe (suite, packages, import changes, recipe number)
 * and of the suite's Release (version and date), so it is made once per engine and again only
 * when the recipe changes or, checked at the worker's start, Debian published a point release. The trimmed root file system is
 * kept as a tar in the cache directory: another engine, or a CI step run again, imports it in
 * seconds instead of running debootstrap for minutes. Making one needs root (debootstrap unpacks
 * packages as root and runs their scripts in a chroot) and debootstrap itself; importing a cached
 * one needs neither. When the mirror cannot be reached, an image or a cached tar of the same
 * recipe is used as it is.
 *
 * One build per engine at a time in this process, one debootstrap per cache directory at a time
 * across processes (a lock file); two processes importing at once end as hostPythonImage.ts's do.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import {
  access,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { BACKBONE_TORCH_IMAGE_REF } from '../contracts/platformImages';
import { debianMirror } from './debianMirror';
import { describeDocker } from './engine';
import { importRootfs, inspectImage } from './rootfsImport';

export { BACKBONE_TORCH_IMAGE_REF };
export const BACKBONE_IMAGE_INPUTS_LABEL = 'proctor.backbone-image.inputs';
/** The recipe alone, without the Release: what an offline start compares. */
export const BACKBONE_IMAGE_RECIPE_LABEL = 'proctor.backbone-image.recipe';
/** `name=version,…` of BACKBONE_PACKAGES as installed, for people and tests. */
export const BACKBONE_IMAGE_PACKAGES_LABEL = 'proctor.backbone-image.packages';
export const BACKBONE_IMAGE_DEBIAN_LABEL = 'proctor.backbone-image.debian';
export const BACKBONE_SUITE = 'bookworm';
/**
 * OpenBLAS is named: without it Debian's torch links the reference BLAS, about six times slower at
 * the matrix products a head's training and a transformer backbone are made of (measured on this
 * machine: 5.3 against 33.8 GFLOP/s for a 512² product on one thread).
 */
export const BACKBONE_PACKAGES = [
  'python3',
  'python3-torch',
  'python3-numpy',
  'libopenblas0-pthread',
  'espeak-ng',
] as const;
export const BACKBONE_UID = 65534;

/** Bump when the way the root file system is made or trimmed changes. */
const RECIPE = 1;

const CHANGES = [
  'WORKDIR /output',
  'ENV PYTHONDONTWRITEBYTECODE=1',
  'ENV PYTHONUNBUFFERED=1',
  'ENV LANG=C.UTF-8',
  // Jobs mount their one writable directory here; torch and espeak-ng look for caches under HOME.
  'ENV HOME=/output',
  `USER ${BACKBONE_UID}`,
];

/**
 * What a job never reads: apt's package lists and downloaded packages, documentation (copyright
 * files stay), manual pages, translations, the log files of the installation, libtorch's C++ test
 * programs (a dependency of python3-torch that nothing loads), and Mesa's OpenGL drivers with the
 * LLVM and Z3 libraries only they link (OpenCV's window support pulls them in; jobs have no display).
 * Paths relative to the root; a trailing `/*` empties a directory and keeps it.
 */
const TRIM = [
  'var/cache/apt/*',
  'var/lib/apt/lists/*',
  'var/log/*',
  'usr/share/man/*',
  'usr/share/info/*',
  'usr/share/lintian',
  'usr/lib/libtorch-test',
];
/** In each multiarch library directory (usr/lib/x86_64-linux-gnu and the like). */
const TRIM_MULTIARCH = /^dri$/;
const TRIM_LIBS = /^lib(LLVM-\d+|z3)\.so/;

/** Empty directories the job's mounts appear on. */
const MOUNT_POINTS = ['output', 'upload', 'data', 'platform'];

export interface BackboneImageOptions {
  log?: (line: string) => void;
  /** Told when an image was imported (not when an up-to-date one was found). */
  onBuilt?: (build: BackboneImageBuild) => void;
  /** PROCTOR_DEBIAN_MIRROR and the cache directory's variables; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * Ask the mirror whether Debian published a point release since the engine's image was made, and
   * make it again if so (the worker's start-up does). Otherwise an image of the current recipe is
   * used as it is, with no request to the mirror: a job never waits for a rebuild it did not need.
   */
  refresh?: boolean;
  /** The tag to make; BACKBONE_TORCH_IMAGE_REF unless a test wants a copy of its own beside it. */
  ref?: string;
}

export interface BackboneImageBuild {
  ref: string;
  imageId: string;
  inputsHash: string;
  /** From start to tagged image. */
  buildMs: number;
  /** Time debootstrap took, or null when a cached root file system was imported. */
  debootstrapMs: number | null;
  importMs: number;
  sizeBytes: number;
  tarPath: string;
  tarBytes: number;
  packages: string;
}

/** Why the image cannot be made here; the message says what to do. */
export class BackboneImageUnavailable extends Error {
  override name = 'BackboneImageUnavailable';
}

/**
 * Where the root file system tars are kept: `PROCTOR_CACHE_DIR`, else `proctor` in the user's cache
 * directory (`$XDG_CACHE_HOME`, else ~/.cache), beside what the launcher and the tests cache there.
 */
export function backboneCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.PROCTOR_CACHE_DIR?.trim();
  if (configured) return path.resolve(configured);
  return path.join(env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache'), 'proctor');
}

const inFlight = new Map<string, Promise<string>>();

/** Resolves to BACKBONE_TORCH_IMAGE_REF once the engine has the image of the current recipe. */
export async function ensureBackboneImage(docker: Dockerode, opts: BackboneImageOptions = {}): Promise<string> {
  const ref = opts.ref ?? BACKBONE_TORCH_IMAGE_REF;
  // Checked before joining a build in flight: a job need not wait for a start-up refresh.
  if (!opts.refresh && (await imageRecipe(docker, ref)) === backboneRecipeKey()) return ref;
  const key = `${describeDocker(docker)} ${ref}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = ensure(docker, opts).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function imageRecipe(docker: Dockerode, ref: string): Promise<string | undefined> {
  return (await inspectImage(docker, ref))?.Config?.Labels?.[BACKBONE_IMAGE_RECIPE_LABEL];
}

/** The recipe's hash: everything that shapes the image except what the mirror publishes. */
export function backboneRecipeKey(): string {
  return sha256(
    JSON.stringify({
      recipe: RECIPE,
      suite: BACKBONE_SUITE,
      packages: BACKBONE_PACKAGES,
      changes: CHANGES,
      trim: [...TRIM, String(TRIM_LIBS), String(TRIM_MULTIARCH)],
      mountPoints: MOUNT_POINTS,
    }),
  );
}

interface Release {
  version: string;
  /** ISO 8601. */
  date: string;
}

/** What a cached tar was made from, kept beside it. */
interface TarRecord {
  recipeKey: string;
  inputsHash: string;
  debian: string;
  packages: string;
}

async function ensure(docker: Dockerode, opts: BackboneImageOptions): Promise<string> {
  const ref = opts.ref ?? BACKBONE_TORCH_IMAGE_REF;
  const log = opts.log ?? (() => {});
  const env = opts.env ?? process.env;
  const started = Date.now();
  const recipeKey = backboneRecipeKey();
  const mirror = await debianMirror(BACKBONE_SUITE, { env });
  const existing = await inspectImage(docker, ref);
  const labels = existing?.Config?.Labels ?? {};
  const cacheDir = backboneCacheDir(env);
  if (!opts.refresh && labels[BACKBONE_IMAGE_RECIPE_LABEL] === recipeKey) return ref;

  let release: Release | null = null;
  let offline: string | null = null;
  try {
    release = await mirrorRelease(mirror.url);
  } catch (error) {
    const code = ((error as Error).cause as { code?: string } | undefined)?.code;
    offline =
      `could not read ${BACKBONE_SUITE}'s Release from ${mirror.url} (${mirror.from}): ` +
      `${(error as Error).message}${code ? ` (${code})` : ''}`;
  }

  let tar: { path: string; record: TarRecord; debootstrapMs: number | null };
  if (release) {
    const inputsHash = sha256(`${recipeKey} ${release.version} ${release.date}`);
    if (labels[BACKBONE_IMAGE_INPUTS_LABEL] === inputsHash) return ref;
    tar = await rootfsTar({ cacheDir, recipeKey, inputsHash, release, mirror: mirror.url, log });
  } else {
    if (labels[BACKBONE_IMAGE_RECIPE_LABEL] === recipeKey) {
      log(`${offline}; using the ${ref} the engine has (Debian ${labels[BACKBONE_IMAGE_DEBIAN_LABEL]})`);
      return ref;
    }
    const cached = await newestCachedTar(cacheDir, recipeKey);
    if (!cached)
      throw new BackboneImageUnavailable(
        `cannot make ${ref}: ${offline}, and ${cacheDir} holds no root file system of this recipe; ` +
          'set PROCTOR_DEBIAN_MIRROR to a reachable Debian mirror',
      );
    log(`${offline}; importing the cached ${cached.path} (Debian ${cached.record.debian})`);
    tar = { ...cached, debootstrapMs: null };
  }

  log(`importing ${tar.path} into the engine at ${describeDocker(docker)} as ${ref}`);
  const importStarted = Date.now();
  const { record } = tar;
  const now = await importRootfs(docker, createReadStream(tar.path), {
    ref: ref,
    inputsLabel: BACKBONE_IMAGE_INPUTS_LABEL,
    inputsHash: record.inputsHash,
    changes: [
      ...CHANGES,
      `LABEL ${BACKBONE_IMAGE_RECIPE_LABEL}=${record.recipeKey}`,
      `LABEL ${BACKBONE_IMAGE_DEBIAN_LABEL}=${record.debian}`,
      `LABEL ${BACKBONE_IMAGE_PACKAGES_LABEL}=${record.packages}`,
    ],
    message: `Proctor backbone image (Debian ${record.debian}: ${record.packages})`,
    what: 'backbone',
  });
  const build: BackboneImageBuild = {
    ref: ref,
    imageId: now.Id,
    inputsHash: record.inputsHash,
    buildMs: Date.now() - started,
    debootstrapMs: tar.debootstrapMs,
    importMs: Date.now() - importStarted,
    sizeBytes: now.Size,
    tarPath: tar.path,
    tarBytes: (await stat(tar.path)).size,
    packages: record.packages,
  };
  log(
    `built ${ref} (${now.Id.slice(7, 19)}, ${mib(build.sizeBytes)}) in ${seconds(build.buildMs)}: ` +
      `${build.debootstrapMs === null ? 'cached root file system' : `debootstrap and trimming ${seconds(build.debootstrapMs)}`}, ` +
      `import ${seconds(build.importMs)}`,
  );
  opts.onBuilt?.(build);
  return ref;
}

/** The suite's Release version and date; the first few kilobytes of the file hold both. */
async function mirrorRelease(mirror: string): Promise<Release> {
  const response = await fetch(`${mirror}/dists/${BACKBONE_SUITE}/Release`, {
    headers: { Range: 'bytes=0-4095' },
    signal: AbortSignal.timeout(15_000),
  });
  if (!response.ok && response.status !== 206) throw new Error(`HTTP ${response.status}`);
  const head = (await response.text()).slice(0, 4096);
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(head)?.[1]?.trim();
  const version = field('Version');
  const date = field('Date');
  const parsed = date ? new Date(date) : null;
  if (!version || !parsed || Number.isNaN(parsed.getTime()))
    throw new Error('it has no Version and Date fields; is the URL a Debian mirror?');
  return { version, date: parsed.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

const tarsInFlight = new Map<string, Promise<{ path: string; record: TarRecord; debootstrapMs: number | null }>>();

/** The cached tar of these inputs, made first if there is none (one per process and cache directory at a time). */
function rootfsTar(o: {
  cacheDir: string;
  recipeKey: string;
  inputsHash: string;
  release: Release;
  mirror: string;
  log: (line: string) => void;
}): Promise<{ path: string; record: TarRecord; debootstrapMs: number | null }> {
  const key = `${o.cacheDir} ${o.inputsHash}`;
  let pending = tarsInFlight.get(key);
  if (!pending) {
    pending = (async () => {
      const tarPath = path.join(o.cacheDir, `backbone-rootfs-${o.inputsHash.slice(0, 16)}.tar`);
      const cached = await readRecord(tarPath);
      if (cached?.inputsHash === o.inputsHash) return { path: tarPath, record: cached, debootstrapMs: null };
      await requireBuildTools(o.cacheDir);
      await mkdir(o.cacheDir, { recursive: true });
      return withLock(path.join(o.cacheDir, 'backbone-rootfs.lock'), o.log, async () => {
        // Another process may have made it while this one waited for the lock.
        const made = await readRecord(tarPath);
        if (made?.inputsHash === o.inputsHash) return { path: tarPath, record: made, debootstrapMs: null };
        const t0 = Date.now();
        const record = await makeRootfsTar({ ...o, tarPath });
        await pruneOtherTars(o.cacheDir, tarPath);
        return { path: tarPath, record, debootstrapMs: Date.now() - t0 };
      });
    })().finally(() => tarsInFlight.delete(key));
    tarsInFlight.set(key, pending);
  }
  return pending;
}

async function requireBuildTools(cacheDir: string): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new BackboneImageUnavailable(
      `making ${BACKBONE_TORCH_IMAGE_REF} needs root: debootstrap installs Debian packages as root in a chroot. ` +
        `Run the worker (or \`npm start\`) as root once; after that the image, and the root file system cached in ` +
        `${cacheDir}, are used without root`,
    );
  if (!(await findDebootstrap()))
    throw new BackboneImageUnavailable(
      `making ${BACKBONE_TORCH_IMAGE_REF} needs debootstrap, which is not installed: apt-get install debootstrap`,
    );
}

const SBIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function findDebootstrap(): Promise<string | null> {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SBIN_PATH.split(':')]) {
    if (!dir) continue;
    const candidate = path.join(dir, 'debootstrap');
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return null;
}

const execFileAsync = promisify(execFile);

async function makeRootfsTar(o: {
  cacheDir: string;
  inputsHash: string;
  recipeKey: string;
  release: Release;
  mirror: string;
  tarPath: string;
  log: (line: string) => void;
}): Promise<TarRecord> {
  const work = await mkdtemp(path.join(o.cacheDir, 'backbone-build-'));
  const root = path.join(work, 'root');
  try {
    o.log(
      `making the ${BACKBONE_TORCH_IMAGE_REF} root file system: debootstrap ${BACKBONE_SUITE} (Debian ${o.release.version}) ` +
        `from ${o.mirror} with ${BACKBONE_PACKAGES.join(', ')}; a few minutes, once`,
    );
    const debootstrap = (await findDebootstrap())!;
    await execFileAsync(
      debootstrap,
      ['--variant=minbase', `--include=${BACKBONE_PACKAGES.join(',')}`, BACKBONE_SUITE, root, o.mirror],
      {
        env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${SBIN_PATH}`, DEBIAN_FRONTEND: 'noninteractive' },
        maxBuffer: 64 * 2 ** 20,
      },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      const tail = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      throw new Error(`debootstrap failed: ${tail || error.message}`, { cause: error });
    });
    const packages = installedVersions(await readFile(path.join(root, 'var/lib/dpkg/status'), 'utf8'));
    await trim(root);
    for (const dir of MOUNT_POINTS) await mkdir(path.join(root, dir), { recursive: true, mode: 0o755 });

    const partial = `${o.tarPath}.${process.pid}.partial`;
    await execFileAsync('tar', [
      '--numeric-owner',
      '--one-file-system',
      '-C',
      root,
      '-cf',
      partial,
      // The engine provides these at run time; device nodes and leftovers of the chroot stay out.
      ...['dev', 'proc', 'sys', 'run', 'tmp'].map((d) => `--exclude=./${d}/*`),
      '.',
    ]);
    const record: TarRecord = {
      recipeKey: o.recipeKey,
      inputsHash: o.inputsHash,
      debian: `${o.release.version}@${o.release.date}`,
      packages,
    };
    await writeFile(`${o.tarPath}.json`, `${JSON.stringify(record)}\n`);
    // The record first, then the tar by an atomic rename: a tar that exists always has its record.
    await rename(partial, o.tarPath);
    return record;
  } finally {
    await removeBuildDir(work);
  }
}

/**
 * debootstrap mounts /proc, /sys and /dev/pts (or binds the host's /dev) in the new root while it
 * runs and unmounts them at its end; one that was killed leaves them mounted. They are unmounted
 * before the directory is removed, and a directory that still has a mount under it is left alone,
 * so removing it can never reach into the host's /dev.
 */
async function removeBuildDir(given: string): Promise<void> {
  // mountinfo names the real path.
  const dir = await realpath(given).catch(() => given);
  const mounted = async () =>
    (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
      .filter((point): point is string => !!point && (point === dir || point.startsWith(`${dir}/`)))
      .sort((a, b) => b.length - a.length);
  for (const point of await mounted()) await execFileAsync('umount', ['-l', point]).catch(() => undefined);
  const left = await mounted();
  if (left.length > 0) throw new Error(`${dir} still has ${left.join(', ')} mounted; unmount them and remove it`);
  await rm(dir, { recursive: true, force: true });
}

/** `name=version,…` of BACKBONE_PACKAGES from dpkg's status file. */
function installedVersions(status: string): string {
  const versions = new Map<string, string>();
  for (const stanza of status.split(/\n\n+/)) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1];
    const version = /^Version: (.+)$/m.exec(stanza)?.[1];
    if (name && version && /^Status: .* installed$/m.test(stanza)) versions.set(name, version);
  }
  return BACKBONE_PACKAGES.map((p) => {
    const version = versions.get(p);
    if (!version) throw new Error(`debootstrap finished but ${p} is not installed`);
    return `${p}=${version}`;
  }).join(',');
}

async function trim(root: string): Promise<void> {
  for (const entry of TRIM) {
    if (entry.endsWith('/*')) {
      const dir = path.join(root, entry.slice(0, -2));
      for (const name of await readdir(dir).catch(() => [] as string[]))
        await rm(path.join(dir, name), { recursive: true, force: true });
    } else await rm(path.join(root, entry), { recursive: true, force: true });
  }
  const usrLib = path.join(root, 'usr/lib');
  for (const arch of (await readdir(usrLib)).filter((n) => n.endsWith('-linux-gnu'))) {
    const libDir = path.join(usrLib, arch);
    for (const name of await readdir(libDir))
      if (TRIM_LIBS.test(name) || TRIM_MULTIARCH.test(name))
        await rm(path.join(libDir, name), { recursive: true, force: true });
  }
  // Translations, except glibc's alias table.
  const locale = path.join(root, 'usr/share/locale');
  for (const name of await readdir(locale).catch(() => [] as string[]))
    if (name !== 'locale.alias') await rm(path.join(locale, name), { recursive: true, force: true });
  // Documentation, except each package's copyright file.
  await execFileAsync('find', [
    path.join(root, 'usr/share/doc'),
    '-mindepth',
    '1',
    '!',
    '-type',
    'd',
    '!',
    '-name',
    'copyright',
    '-delete',
  ]);
}

async function readRecord(tarPath: string): Promise<TarRecord | null> {
  try {
    await stat(tarPath);
    return JSON.parse(await readFile(`${tarPath}.json`, 'utf8')) as TarRecord;
  } catch {
    return null;
  }
}

/** The most recently made cached tar of this recipe, whatever Release it was made from. */
async function newestCachedTar(
  cacheDir: string,
  recipeKey: string,
): Promise<{ path: string; record: TarRecord } | null> {
  let best: { path: string; record: TarRecord; mtimeMs: number } | null = null;
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    if (!/^backbone-rootfs-[0-9a-f]+\.tar$/.test(name)) continue;
    const tarPath = path.join(cacheDir, name);
    const record = await readRecord(tarPath);
    if (record?.recipeKey !== recipeKey) continue;
    const { mtimeMs } = await stat(tarPath);
    if (!best || mtimeMs > best.mtimeMs) best = { path: tarPath, record, mtimeMs };
  }
  return best;
}

/** Tars of earlier recipes or Releases (about a gigabyte each), and partial ones of processes that died. */
async function pruneOtherTars(cacheDir: string, keep: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const full = path.join(cacheDir, name);
    if (full === keep || full === `${keep}.json`) continue;
    const partial = /^backbone-rootfs-[0-9a-f]+\.tar\.(\d+)\.partial$/.exec(name);
    if (partial ? !isAlive(Number(partial[1])) : /^backbone-rootfs-[0-9a-f]+\.tar(\.json)?$/.test(name))
      await rm(full, { force: true });
    else if (/^backbone-build-/.test(name)) await removeBuildDir(full).catch(() => undefined);
  }
}

/**
 * Runs `work` holding a lock file that names this process; a lock whose process has died is taken
 * over. Waiting is logged once a minute, since a debootstrap elsewhere takes minutes.
 */
async function withLock<T>(lockPath: string, log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  let waitedSince: number | null = null;
  for (;;) {
    // Written aside and linked into place, so the lock never exists without the holder's PID in it.
    const mine = `${lockPath}.${process.pid}`;
    await writeFile(mine, String(process.pid));
    try {
      await link(mine, lockPath);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      // Two processes finding the same dead holder may both take over and both debootstrap; each
      // writes its own partial tar and renames it into place, so that costs time, not correctness.
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (waitedSince === null || Date.now() - waitedSince >= 60_000) {
        log(`waiting for process ${holder}, which is making the ${BACKBONE_TORCH_IMAGE_REF} root file system`);
        waitedSince = Date.now();
      }
      await sleep(1_000);
    } finally {
      await unlink(mine).catch(() => undefined);
    }
  }
  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
