/**
 * The root file system of the images made from this machine's Python, as a list of tar entries:
 * the interpreter, its standard library without tests, IDLE, Tk and the like, its extension
 * modules, every shared library those load and the dynamic loader, one package of ours (the NLP
 * serving image's server, for one), the few host commands an image asks for (a shell and some
 * coreutils for a job that runs a script), and an /etc/passwd that knows the unprivileged user the
 * container runs as. Nothing is fetched from anywhere.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { sharedLibraries, type HostPython } from './hostPython';
import type { TarEntry } from './tarStream';

/** Where Python lives in the image; it finds its library from the interpreter's location. */
const IMAGE_PREFIX = '/usr/local';
export const SERVING_UID = 65534;

// Parts of the standard library a model server never imports, left out to keep the image small.
const EXCLUDED_TOP = new Set([
  'test',
  'idlelib',
  'tkinter',
  'turtledemo',
  'ensurepip',
  'lib2to3',
  'site-packages',
  'dist-packages',
  'lib-dynload',
]);
const EXCLUDED_ANYWHERE = new Set(['__pycache__', 'test', 'tests', 'idle_test']);
const EXCLUDED_MODULES = /^(_tkinter|_test|_xxtest|_ctypes_test|xxlimited|xxsubtype)/;

export interface ServingRootfs {
  entries: TarEntry[];
  /** Environment the image must set for its interpreter to start. */
  env: Record<string, string>;
  /** What was left out and why (extension modules whose libraries are missing here). */
  warnings: string[];
}

/** Where the host's commands are looked up: the system's own, never a version manager's shims. */
const HOST_COMMAND_DIRS = ['/usr/bin', '/bin'];
/** Where the image's commands go; each is linked from /usr/bin too, for `#!/usr/bin/env` lines. */
const IMAGE_COMMAND_DIR = '/bin';

export interface RootfsContent {
  /** Our Python package, copied into site-packages. */
  packageDir?: string;
  /** Host commands copied to /bin by name (`sh` as whatever /bin/sh is here), with their libraries. */
  commands?: readonly string[];
}

export async function servingRootfs(python: HostPython, content: RootfsContent = {}): Promise<ServingRootfs> {
  const { packageDir, commands = [] } = content;
  const entries = new Map<string, TarEntry>();
  const warnings: string[] = [];
  const add = (entry: TarEntry) => {
    for (let dir = path.posix.dirname(entry.path); dir !== '/'; dir = path.posix.dirname(dir)) {
      if (!entries.has(dir)) entries.set(dir, { type: 'dir', path: dir, mode: 0o755 });
    }
    entries.set(entry.path, entry);
  };
  const addFile = async (from: string, to: string) => {
    const s = await stat(from);
    // The container's user owns nothing in the image: everything must be readable by others.
    add({ type: 'file', path: to, mode: (s.mode & 0o755) | 0o444, size: s.size, from, mtimeMs: s.mtimeMs });
  };

  const binDir = `${IMAGE_PREFIX}/bin`;
  const libDir = `${IMAGE_PREFIX}/lib`;
  const stdlibDir = `${libDir}/python${python.version}`;
  const interpreter = `python${python.version}`;
  await addFile(python.executable, `${binDir}/${interpreter}`);
  add({ type: 'symlink', path: `${binDir}/python3`, target: interpreter });
  add({ type: 'symlink', path: `${binDir}/python`, target: interpreter });

  for (const file of await walk(
    python.stdlib,
    (rel, isDir) => !(isDir && (EXCLUDED_TOP.has(rel) || /^config-/.test(rel))) && !excludedAnywhere(rel, isDir),
  )) {
    await addFile(path.join(python.stdlib, file), `${stdlibDir}/${file}`);
  }

  const modules = (await readdir(python.dynload))
    .filter((name) => name.endsWith('.so') && !EXCLUDED_MODULES.test(name))
    .sort();
  const commandFiles = await Promise.all(commands.map(hostCommand));
  const binaries = [python.executable, ...modules.map((name) => path.join(python.dynload, name)), ...commandFiles];
  const libs = await sharedLibraries(binaries);
  for (const name of modules) {
    const missing = libs.unresolved.get(path.join(python.dynload, name));
    if (missing) {
      warnings.push(`left out ${name}: it needs ${missing.join(', ')}, which this machine does not have`);
      continue;
    }
    await addFile(path.join(python.dynload, name), `${stdlibDir}/lib-dynload/${name}`);
  }
  const missingForInterpreter = libs.unresolved.get(python.executable);
  if (missingForInterpreter)
    throw new Error(`${python.executable} needs ${missingForInterpreter.join(', ')}, which ldd cannot find`);
  for (const [i, name] of commands.entries()) {
    const missing = libs.unresolved.get(commandFiles[i]!);
    if (missing) throw new Error(`${commandFiles[i]} (${name}) needs ${missing.join(', ')}, which ldd cannot find`);
    await addFile(commandFiles[i]!, `${IMAGE_COMMAND_DIR}/${name}`);
    add({ type: 'symlink', path: `/usr/bin/${name}`, target: `${IMAGE_COMMAND_DIR}/${name}` });
  }

  const libraryDirs = new Set([libDir]);
  const libraries = [...libs.libraries];
  // glibc loads libgcc_s by name when a thread exits through pthread_exit; no binary lists it.
  const libc = libraries.find((lib) => path.basename(lib) === 'libc.so.6');
  if (libc && existsSync(path.join(path.dirname(libc), 'libgcc_s.so.1')))
    libraries.push(path.join(path.dirname(libc), 'libgcc_s.so.1'));
  for (const lib of libraries) {
    // libpython sits under the Python prefix on this machine; in the image it moves with Python.
    const inPrefix = lib.startsWith(`${python.prefix}/`);
    const to = inPrefix ? `${libDir}/${path.basename(lib)}` : lib;
    libraryDirs.add(path.posix.dirname(to));
    await addFile(lib, to);
  }
  for (const loader of libs.loaders) await addFile(loader, loader);

  const sitePackages = `${stdlibDir}/site-packages`;
  if (packageDir !== undefined) {
    for (const file of await walk(
      packageDir,
      (rel, isDir) => !excludedAnywhere(rel, isDir) && (isDir || rel.endsWith('.py')),
    )) {
      add({
        type: 'data',
        path: `${sitePackages}/${file}`,
        mode: 0o644,
        data: await readFile(path.join(packageDir, file)),
      });
    }
  }

  add({ type: 'dir', path: '/etc', mode: 0o755 });
  add({
    type: 'data',
    path: '/etc/passwd',
    mode: 0o644,
    data: Buffer.from(
      `root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:${SERVING_UID}:${SERVING_UID}:nobody:/nonexistent:/usr/sbin/nologin\n`,
    ),
  });
  add({ type: 'data', path: '/etc/group', mode: 0o644, data: Buffer.from(`root:x:0:\nnogroup:x:${SERVING_UID}:\n`) });
  add({ type: 'dir', path: '/tmp', mode: 0o1777 });
  add({ type: 'dir', path: '/workspace', mode: 0o755 });

  return {
    entries: [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    env: {
      PATH: `${binDir}:/usr/bin:/bin`,
      // The interpreter's own search path points at this machine's prefix, which the image lacks.
      LD_LIBRARY_PATH: [...libraryDirs].join(':'),
      LANG: 'C.UTF-8',
      PYTHONUTF8: '1',
      HOME: '/tmp',
    },
    warnings,
  };
}

/** The host's file for a command name, symlinks resolved (so `sh` is copied as the shell it names here). */
async function hostCommand(name: string): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name)) throw new Error(`${JSON.stringify(name)} is not a command name`);
  for (const dir of HOST_COMMAND_DIRS) {
    const found = await realpath(path.join(dir, name)).catch(() => null);
    if (found && (await stat(found)).isFile()) return found;
  }
  throw new Error(
    `the image needs the command ${name}, which this machine has in none of ${HOST_COMMAND_DIRS.join(', ')}`,
  );
}

function excludedAnywhere(rel: string, isDir: boolean): boolean {
  const name = path.posix.basename(rel);
  if (isDir) return EXCLUDED_ANYWHERE.has(name);
  return name.endsWith('.pyc') || name.endsWith('.exe');
}

/** Relative paths of the files under `root` (following symlinks), skipping what `keep` refuses. */
async function walk(root: string, keep: (rel: string, isDir: boolean) => boolean, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const dirent of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const child = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
    const target = dirent.isSymbolicLink() ? await stat(path.join(root, child)).catch(() => null) : dirent;
    if (!target) continue; // a dangling link
    const isDir = target.isDirectory();
    if (!keep(child, isDir)) continue;
    if (isDir) out.push(...(await walk(root, keep, child)));
    else if (target.isFile()) out.push(child);
  }
  return out;
}
