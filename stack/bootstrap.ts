/**
 * First-start records: the built-in datasets, the preloaded images and an admin with an API key,
 * so a fresh stack can be used straight away. Safe to run on every start and from several launchers at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { connectDb, type Db } from '../db/client';
import { hashApiKey } from '../db/queries/apiKeyHash';
import { upsertBuiltinDatasets } from '../db/queries/datasets';
import { upsertPlatformImages } from '../db/queries/images';
import { PLATFORM_IMAGES } from '../contracts/platformImages';
import { builtinDatasetRecords } from '../datasets/builtinCatalog';
import { apiKeys, users } from '../db/schema';

const ADMIN_EMAIL = 'admin@localhost';
/** Arbitrary constant: serialises concurrent bootstraps so only one admin user is created. */
const BOOTSTRAP_LOCK = 72_430_002;

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

async function ensureAdmin(db: Db, key: string): Promise<void> {
  const keyHash = hashApiKey(key);
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const [known] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).limit(1);
    if (known) return;
    const [existing] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.email, ADMIN_EMAIL), eq(users.role, 'admin')))
      .orderBy(users.createdAt)
      .limit(1);
    const userId =
      existing?.id ??
      (
        await tx.insert(users).values({ name: 'admin', email: ADMIN_EMAIL, role: 'admin' }).returning({ id: users.id })
      )[0]!.id;
    await tx
      .insert(apiKeys)
      .values({ userId, keyHash, prefix: key.slice(0, 10) })
      .onConflictDoNothing({ target: apiKeys.keyHash });
  });
}

export async function bootstrap(options: BootstrapOptions): Promise<{ adminKey: string }> {
  const key = await adminKey(options.dataDir, options.env ?? process.env);
  const handle = connectDb(options.databaseUrl, { max: 2 });
  try {
    await upsertBuiltinDatasets(handle.db, builtinDatasetRecords());
    await upsertPlatformImages(handle.db, PLATFORM_IMAGES);
    await ensureAdmin(handle.db, key);
  } finally {
    await handle.close();
  }
  return { adminKey: key };
}
