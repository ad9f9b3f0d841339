/**
 * This machine's Python, as the serving image is made from it: where its interpreter, standard
 * library and extension modules are, and which shared libraries they load (as `ldd` reports them).
 */
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HostPython {
  /** The interpreter binary itself, symlinks resolved (a pyenv shim asks the real one). */
  executable: string;
  /** e.g. "3.11". */
  version: string;
  /** e.g. "3.11.7". */
  fullVersion: string;
  /** The installation prefix (of the base interpreter, never a virtualenv's). */
  prefix: string;
  stdlib: string;
  dynload: string;
}

const PROBE = `
import json, os, sys, sysconfig
stdlib = sysconfig.get_path("stdlib")
print(json.dumps({
  "executable": os.path.realpath(sys.executable),
  "version": "%d.%d" % sys.version_info[:2],
  "fullVersion": "%d.%d.%d" % sys.version_info[:3],
  "prefix": sys.base_prefix,
  "stdlib": stdlib,
  "dynload": sysconfig.get_config_var("DESTSHARED") or os.path.join(stdlib, "lib-dynload"),
}))
`;

export async function inspectHostPython(python = 'python3'): Promise<HostPython> {
  let stdout: string;
  try {
    ({ stdout } = await run(python, ['-I', '-c', PROBE], { timeout: 30_000 }));
  } catch (error) {
    throw new Error(
      `the serving image is built from this machine's Python, but \`${python}\` could not be run: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const found = JSON.parse(stdout) as HostPython;
  if (!/^3\.\d+$/.test(found.version))
    throw new Error(`the serving image needs Python 3, but \`${python}\` is ${found.fullVersion}`);
  return { ...found, executable: await realpath(found.executable) };
}

export interface SharedLibraries {
  /** Every library the binaries load, by the absolute path the loader found it at. */
  libraries: string[];
  /** The dynamic loader named in the binaries (e.g. /lib64/ld-linux-x86-64.so.2). */
  loaders: string[];
  /** Binaries with a library the loader cannot find here: they would not load in the image either. */
  unresolved: Map<string, string[]>;
}

/** One `ldd` for all the binaries; each section of its output starts with "path:". */
export async function sharedLibraries(binaries: string[]): Promise<SharedLibraries> {
  const libraries = new Set<string>();
  const loaders = new Set<string>();
  const unresolved = new Map<string, string[]>();
  if (binaries.length === 0) return { libraries: [], loaders: [], unresolved };
  let stdout: string;
  try {
    // ldd exits 1 when one of several files is not dynamic; its output is still complete.
    ({ stdout } = await run('ldd', binaries, { maxBuffer: 16 * 2 ** 20 }).catch((error: { stdout?: string }) => {
      if (typeof error.stdout === 'string' && error.stdout !== '') return { stdout: error.stdout };
      throw error;
    }));
  } catch (error) {
    throw new Error(`ldd could not list the shared libraries of this machine's Python: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let current = binaries.length === 1 ? binaries[0]! : '';
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('\t') && line.endsWith(':')) {
      current = line.slice(0, -1);
      continue;
    }
    const text = line.trim();
    let match: RegExpExecArray | null;
    if ((match = /^(\S+) => not found$/.exec(text))) {
      unresolved.set(current, [...(unresolved.get(current) ?? []), match[1]!]);
    } else if ((match = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(text))) {
      libraries.add(match[1]!);
    } else if ((match = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(text))) {
      loaders.add(match[1]!);
    }
  }
  return { libraries: [...libraries].sort(), loaders: [...loaders].sort(), unresolved };
}
