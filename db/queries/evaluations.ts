/**
 * The evaluation aggregate: who may see an evaluation, how it is shown (never with its API key),
 * and writing it. Model names are unique platform-wide regardless of case; the unique index on
 * lower(model_name) decides, so two concurrent creations of one name cannot both win.
 */
import { and, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client';
import { evaluations, runs } from '../schema';
import type { Caller } from '../../contracts/caller';
import { DEFAULT_LIMITS, type EvaluationView, type PublicDeployment } from '../../contracts/evaluation';
import { InvalidField, RecordDeleted, RecordNotFound } from '../errors';

export type EvaluationRow = typeof evaluations.$inferSelect;
export type NewEvaluation = Omit<typeof evaluations.$inferInsert, 'id' | 'runCounter' | 'createdAt' | 'updatedAt'>;
export type EvaluationChanges = Partial<Omit<NewEvaluation, 'ownerId' | 'domain' | 'modelName'>>;

const MODEL_NAME_INDEX = 'evaluations_model_name_lower_uq';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ModelNameTaken extends Error {
  override name = 'ModelNameTaken';
  constructor(readonly modelName: string) {
    super(`model name "${modelName}" is already taken`);
  }
}

/**
 * The evaluation when the caller owns it or is an admin; otherwise RecordNotFound, as if it did not
 * exist. A deleted evaluation is not found by its owner; an admin reads it with `deleted: 'readable'`
 * and otherwise gets RecordDeleted, so nothing changes a deleted evaluation.
 */
export async function getEvaluationFor(
  db: Db,
  caller: Caller,
  id: string,
  { deleted }: { deleted?: 'readable' } = {},
): Promise<EvaluationRow> {
  if (!UUID.test(id)) throw new RecordNotFound('evaluation');
  const [row] = await db
    .select()
    .from(evaluations)
    .where(and(eq(evaluations.id, id), ownedBy(caller)))
    .limit(1);
  if (!row) throw new RecordNotFound('evaluation');
  if (row.deletedAt) {
    if (caller.role !== 'admin') throw new RecordNotFound('evaluation');
    if (deleted !== 'readable') throw new RecordDeleted(`evaluation ${row.id}`, row.deletedAt);
  }
  return row;
}

export type DeleteOutcome =
  { deleted: EvaluationRow } | { inFlight: { runId: string; version: number; status: string } };

/**
 * Marks the evaluation deleted under its row lock, which launches take too: a launch either
 * commits first (and its run, queued or running, refuses the delete) or finds the evaluation
 * deleted. Its runs, reports and leaderboard entries are kept.
 */
export async function softDeleteEvaluation(db: Db, id: string): Promise<DeleteOutcome> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(evaluations).where(eq(evaluations.id, id)).for('update');
    if (!current) throw new RecordNotFound('evaluation');
    if (current.deletedAt) throw new RecordNotFound('evaluation');
    const [running] = await tx
      .select({ runId: runs.id, version: runs.version, status: runs.status })
      .from(runs)
      .where(and(eq(runs.evaluationId, id), inArray(runs.status, ['queued', 'running'])))
      .orderBy(runs.version)
      .limit(1);
    if (running) return { inFlight: running };
    const [row] = await tx
      .update(evaluations)
      .set({ deletedAt: sql`now()` })
      .where(and(eq(evaluations.id, id), isNull(evaluations.deletedAt)))
      .returning();
    return { deleted: row! };
  });
}

/** The evaluations with these ids, whoever owns them and in no particular order; ids must be UUIDs. */
export async function evaluationsByIds(db: Db, ids: readonly string[]): Promise<EvaluationRow[]> {
  return ids.length === 0
    ? []
    : db
        .select()
        .from(evaluations)
        .where(inArray(evaluations.id, [...ids]));
}

/** Whether the evaluation asks for the robustness pass; false when it no longer exists. */
export async function evaluationWantsRobustness(db: Db, evaluationId: string): Promise<boolean> {
  const [row] = await db
    .select({ robustness: evaluations.robustness })
    .from(evaluations)
    .where(eq(evaluations.id, evaluationId));
  return row?.robustness === true;
}

/** The evaluation's model information (base or SFT model, ...); null when it no longer exists. */
export async function evaluationModelInfo(db: Db, evaluationId: string): Promise<EvaluationRow['modelInfo'] | null> {
  const [row] = await db
    .select({ modelInfo: evaluations.modelInfo })
    .from(evaluations)
    .where(eq(evaluations.id, evaluationId));
  return row?.modelInfo ?? null;
}

function ownedBy(caller: Caller): SQL | undefined {
  return caller.role === 'admin' ? undefined : eq(evaluations.ownerId, caller.userId);
}

/** Whether another evaluation already has this name in any case (a hint; the index decides). */
export async function isModelNameTaken(db: Db, modelName: string): Promise<boolean> {
  const [row] = await db
    .select({ id: evaluations.id })
    .from(evaluations)
    .where(sql`lower(${evaluations.modelName}) = lower(${modelName})`)
    .limit(1);
  return row !== undefined;
}

export async function insertEvaluation(db: Db, values: NewEvaluation): Promise<EvaluationRow> {
  try {
    const [row] = await db.insert(evaluations).values(values).returning();
    return row!;
  } catch (error) {
    if (violates(error, MODEL_NAME_INDEX)) throw new ModelNameTaken(values.modelName);
    throw error;
  }
}

/** Removes an evaluation with nothing of its own yet (a copy whose scoring could not be copied). */
export async function deleteEvaluationRow(db: Db, id: string): Promise<void> {
  await db.delete(evaluations).where(eq(evaluations.id, id));
}

/**
 * Edits an evaluation under its row lock: `decide` sees the row as it stands and returns the
 * changes (or throws to refuse, leaving the row untouched). updatedAt always moves forward.
 */
export async function updateEvaluation(
  db: Db,
  id: string,
  decide: (current: EvaluationRow) => EvaluationChanges,
): Promise<EvaluationRow> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(evaluations).where(eq(evaluations.id, id)).for('update');
    // Deleted while the edit was being checked: it is gone for the edit as for everything else.
    if (!current || current.deletedAt) throw new RecordNotFound('evaluation');
    const [row] = await tx
      .update(evaluations)
      .set({ ...decide(current), updatedAt: sql`greatest(now(), ${evaluations.updatedAt} + interval '1 millisecond')` })
      .where(eq(evaluations.id, id))
      .returning();
    return row!;
  });
}

export interface EvaluationPage {
  rows: EvaluationRow[];
  nextCursor: string | null;
}

/**
 * Newest first, by (createdAt, id). The cursor carries the last row's key with the database's
 * microsecond precision, so paging neither skips nor repeats rows created in the same millisecond.
 */
export async function listEvaluationsFor(
  db: Db,
  caller: Caller,
  page: { limit: number; cursor?: string },
): Promise<EvaluationPage> {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const rows = await db
    .select({
      row: evaluations,
      key: sql<string>`to_char(${evaluations.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(evaluations)
    .where(
      and(
        ownedBy(caller),
        // An admin's list shows deleted evaluations too (marked deletedAt); an owner's never does.
        caller.role === 'admin' ? undefined : isNull(evaluations.deletedAt),
        after
          ? sql`(${evaluations.createdAt}, ${evaluations.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(evaluations.createdAt), desc(evaluations.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return { rows: shown.map((r) => r.row), nextCursor: more && last ? encodeCursor(last.key, last.row.id) : null };
}

/** A keyset cursor over (createdAt, id), newest first; shared by the paged lists. */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const instant = createdAt ? Date.parse(createdAt) : NaN;
  const real =
    !Number.isNaN(instant) &&
    !createdAt!.startsWith('0000') &&
    new Date(instant).toISOString().slice(0, 19) === createdAt!.slice(0, 19);
  if (
    !createdAt ||
    !id ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(createdAt) ||
    !real ||
    !UUID.test(id)
  ) {
    throw new InvalidField('cursor', 'must be the nextCursor of an earlier page');
  }
  return { createdAt, id };
}

/** What clients see: the stored API key is reduced to whether there is one. */
export function toEvaluationView(row: EvaluationRow): EvaluationView {
  return {
    id: row.id,
    ownerId: row.ownerId,
    domain: row.domain,
    modelName: row.modelName,
    description: row.description,
    datasets: row.datasetIds,
    deployment: publicDeployment(row.deployment, row.apiKeyCipher !== null),
    robustness: row.robustness,
    modelInfo: row.modelInfo,
    inference: row.inference,
    // Limits added since the row was written show the value a launch freezes for them.
    limits: { ...DEFAULT_LIMITS, ...row.limits },
    ...(row.backboneTasks ? { backbone: { tasks: row.backboneTasks } } : {}),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    ...(row.deletedAt ? { deletedAt: row.deletedAt.toISOString() } : {}),
  };
}

/** Rebuilt field by field, so nothing stored beside the known fields can reach a response. */
export function publicDeployment(stored: PublicDeployment, apiKeySet: boolean): PublicDeployment {
  if (stored.method === 'private') {
    const { method, imageId, priority, gpuType, gpuCount } = stored;
    return { method, imageId, priority, gpuType, gpuCount };
  }
  if (stored.method === 'predictions') return { method: 'predictions' };
  const { method, endpoint, onlineModelName, apiMode, prices } = stored;
  return {
    method,
    endpoint,
    ...(onlineModelName !== undefined ? { onlineModelName } : {}),
    ...(apiMode !== undefined ? { apiMode } : {}),
    ...(prices !== undefined ? { prices } : {}),
    apiKeySet,
  };
}

/** A unique violation of the named index, through drizzle's wrapping of the driver's error. */
function violates(error: unknown, constraint: string): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const pg = e as Error & { code?: string; constraint_name?: string };
    if (pg.code === '23505' && pg.constraint_name === constraint) return true;
  }
  return false;
}
