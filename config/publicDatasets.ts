/**
 * Where public benchmarks fetched at set-up are kept (stack/publicDatasets.ts installs them,
 * datasets/builtin reads them): `PROCTOR_DATASET_CACHE_DIR`, by default `proctor/datasets` in the
 * user's cache directory (`$XDG_CACHE_HOME`, else `~/.cache`), beside the other tools the
 * launcher and the tests cache there. Every process that stores the built-ins must see the same
 * directory; nothing reads it while a run is in flight.
 */
import os from 'node:os';
import path from 'node:path';

export function publicDatasetsDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.PROCTOR_DATASET_CACHE_DIR?.trim();
  if (configured) return path.resolve(configured);
  const cache = env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache');
  return path.join(cache, 'proctor', 'datasets');
}
