/**
 * What the API has stored, reduced to a row count and a hash of the rows' contents per table, so
 * a batch of refused requests can be shown to have changed nothing: not a row added, removed or
 * touched (a moved timestamp or counter changes the hash as surely as a new row).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';

/** Every table a request from outside can write to. */
export const FINGERPRINTED_TABLES = [
  'users',
  'api_keys',
  'evaluations',
  'runs',
  'run_datasets',
  'quota_usage',
  'datasets',
  'images',
  'upload_tokens',
  'upload_versions',
  'idempotency_keys',
  'notifications',
  'container_leases',
] as const;

export type StoreFingerprint = Record<(typeof FINGERPRINTED_TABLES)[number], { rows: number; md5: string }>;

export async function storeFingerprint(db: Db): Promise<StoreFingerprint> {
  // One statement, so the tables are read in one snapshot; rows are hashed as their text form, in order.
  const parts = FINGERPRINTED_TABLES.map(
    (table) =>
      `select '${table}' as name, count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from ${table} t`,
  );
  const result = await db.execute<{ name: string; rows: number; md5: string }>(sql.raw(parts.join(' union all ')));
  return Object.fromEntries([...result].map((r) => [r.name, { rows: Number(r.rows), md5: r.md5 }])) as StoreFingerprint;
}

/** The tables whose fingerprint differs, with how: '' when nothing changed. */
export function fingerprintChanges(before: StoreFingerprint, after: StoreFingerprint): string {
  return FINGERPRINTED_TABLES.filter((t) => before[t].md5 !== after[t].md5 || before[t].rows !== after[t].rows)
    .map(
      (t) =>
        `${t}: ${before[t].rows} → ${after[t].rows} rows${before[t].rows === after[t].rows ? ' (contents changed)' : ''}`,
    )
    .join('; ');
}
