import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { connectDb } from './client';

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Arbitrary constant shared by every process that migrates, so only one migrates at a time. */
const MIGRATION_LOCK = 72_430_001;

/** Applies the checked-in SQL migrations; safe to call from several processes at once. */
export async function migrateDatabase(url: string): Promise<void> {
  const handle = connectDb(url, { max: 1 });
  try {
    await handle.sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(handle.db, { migrationsFolder });
    await handle.sql`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await handle.close();
  }
}
