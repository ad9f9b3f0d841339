/**
 * Everything a user owns, as the database and the upload directory hold it, in one comparable
 * value: a request that was refused must leave it exactly as it was. Rows are taken whole
 * (to_jsonb), so a changed timestamp, counter or cipher shows as well as a changed status.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';

export interface OwnedState {
  evaluations: unknown[];
  runs: unknown[];
  runDatasets: unknown[];
  sampleResults: number;
  runLogs: number;
  runArtifacts: number;
  containerLeases: unknown[];
  quota: unknown[];
  uploadTokens: unknown[];
  uploadVersions: unknown[];
  images: unknown[];
  datasets: unknown[];
  /** Platform-wide counts a refused request must not move either (a user created, a run launched elsewhere). */
  users: number;
  apiKeys: unknown[];
  /** Files and directories under each of the owner's evaluations' upload directories, with sizes. */
  uploadFiles: string[];
}

/**
 * The owner's state. `alsoQuotaOf` names other users whose quota a refused launch must not touch
 * (a stranger's launch on someone else's evaluation must not cost the stranger either).
 */
export async function ownedState(
  db: Db,
  ownerId: string,
  uploadDir: string,
  alsoQuotaOf: string[] = [],
): Promise<OwnedState> {
  const rows = async (query: SQL): Promise<unknown[]> => (await db.execute<{ row: unknown }>(query)).map((r) => r.row);
  const count = async (query: SQL): Promise<number> => Number((await db.execute<{ n: number }>(query))[0]!.n);
  const evaluationIds = sql`(select id from evaluations where owner_id = ${ownerId})`;
  const runIds = sql`(select id from runs where owner_id = ${ownerId} or evaluation_id in ${evaluationIds})`;
  const quotaUsers = [ownerId, ...alsoQuotaOf];

  const evaluations = await rows(
    sql`select to_jsonb(e) as row from evaluations e where owner_id = ${ownerId} order by id`,
  );
  return {
    evaluations,
    runs: await rows(sql`select to_jsonb(r) as row from runs r where id in ${runIds} order by id`),
    runDatasets: await rows(
      sql`select to_jsonb(d) as row from run_datasets d where run_id in ${runIds} order by run_id, position`,
    ),
    sampleResults: await count(sql`select count(*)::int as n from sample_results where run_id in ${runIds}`),
    runLogs: await count(sql`select count(*)::int as n from run_logs where run_id in ${runIds}`),
    runArtifacts: await count(sql`select count(*)::int as n from run_artifacts where run_id in ${runIds}`),
    containerLeases: await rows(
      sql`select to_jsonb(l) as row from container_leases l where run_id in ${runIds} order by run_id`,
    ),
    quota: await rows(
      sql`select to_jsonb(q) as row from quota_usage q where user_id in (${sql.join(
        quotaUsers.map((id) => sql`${id}::uuid`),
        sql`, `,
      )}) order by user_id, month, kind`,
    ),
    uploadTokens: await rows(
      sql`select to_jsonb(t) as row from upload_tokens t where evaluation_id in ${evaluationIds} order by id`,
    ),
    uploadVersions: await rows(
      sql`select to_jsonb(v) as row from upload_versions v where evaluation_id in ${evaluationIds} order by evaluation_id, version`,
    ),
    images: await rows(sql`select to_jsonb(i) as row from images i where owner_id = ${ownerId} order by id`),
    datasets: await rows(sql`select to_jsonb(d) as row from datasets d where owner_id = ${ownerId} order by id`),
    users: await count(sql`select count(*)::int as n from users`),
    apiKeys: await rows(sql`select to_jsonb(k) as row from api_keys k order by id`),
    uploadFiles: (
      await Promise.all(
        (evaluations as { id: string }[]).map(async (e) =>
          (await treeWithSizes(path.join(uploadDir, e.id))).map((f) => `${e.id}/${f}`),
        ),
      )
    ).flat(),
  };
}

/** Every entry under `dir` (relative, sorted) with its size; nothing when `dir` does not exist. */
async function treeWithSizes(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path.join(dir, rel));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      const info = await lstat(path.join(dir, child));
      found.push(`${child} ${info.isDirectory() ? 'dir' : info.size}`);
      if (info.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return found.sort();
}
