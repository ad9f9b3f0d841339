/**
 * First-start records: the built-in datasets, the preloaded images and an admin with an API key,
 * so a fresh stack can be used straight away. Safe to run on every start and from several launchers at once.
 * A public benchmark whose file set-up has not installed is left out (and reported); a later start
 * with the file stores it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectDb } from '../db/client';
import { hashApiKey } from '../db/queries/apiKeyHash';
import { ensureAdminKey } from '../db/queries/users';
import { upsertBuiltinDatasets } from '../db/queries/datasets';
import { upsertPlatformImages } from '../db/queries/images';
import { PLATFORM_IMAGES } from '../contracts/platformImages';
import { builtinDatasetRecords } from '../datasets/builtinCatalog';
import type { PublicDatasetMissing } from '../datasets/builtin/public/publicData';

const ADMIN_EMAIL = 'admin@localhost';

export interface BootstrapOptions {
  databaseUrl: string;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

export function generateApiKey(): string {
  return `pk_${randomBytes(32).toString('base64url')}`;
}

/** PROCTOR_ADMIN_KEY, else the key kept in `<dataDir>/admin.key`, else a new one stored there. */
async function adminKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (env.PROCTOR_ADMIN_KEY) return env.PROCTOR_ADMIN_KEY;
  const file = path.join(dataDir, 'admin.key');
  await mkdir(dataDir, { recursive: true });
  try {
    await writeFile(file, `${generateApiKey()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = (await readFile(file, 'utf8')).trim();
  if (!key) throw new Error(`${file} is empty; delete it to have a new admin key generated`);
  return key;
}

export interface BootstrapResult {
  adminKey: string;
  /** Public benchmarks left out because their file is not installed (stack/publicDatasets.ts installs them). */
  unavailable: PublicDatasetMissing[];
}

export async function bootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const key = await adminKey(options.dataDir, options.env ?? process.env);
  const handle = connectDb(options.databaseUrl, { max: 2 });
  const unavailable: PublicDatasetMissing[] = [];
  try {
    await upsertBuiltinDatasets(
      handle.db,
      builtinDatasetRecords((missing) => unavailable.push(missing)),
    );
    await upsertPlatformImages(handle.db, PLATFORM_IMAGES);
    await ensureAdminKey(handle.db, { email: ADMIN_EMAIL, keyHash: hashApiKey(key), prefix: key.slice(0, 10) });
  } finally {
    await handle.close();
  }
  return { adminKey: key, unavailable };
}
