/**
 * The dataset aggregate: built-ins stored at start-up, custom datasets registered by users, who
 * may see which, and the items a batch of inference reads.
 */
import {
  BUILTIN_IMAGE_DATASET_IDS,
  builtinImageNames,
  renderBuiltinImage,
} from '../../datasets/builtin/multimodal/builtinImages';
import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { datasetItems, datasetPictures, datasets, evaluations, predictionSets, runDatasets } from '../schema';
import { RecordNotFound } from '../errors';
import type { DatasetItem, DatasetSource, DatasetView, MetricName } from '../../contracts/dataset';
import type { Domain } from '../../contracts/domain';

/** Arbitrary constant: serialises concurrent start-ups storing the built-ins. */
const BUILTIN_DATASETS_LOCK = 72_430_003;
/** 1000 rows of 7 columns stays far below PostgreSQL's 65,535 bind parameters per statement. */
const INSERT_CHUNK_ROWS = 1000;
const PICTURE_INSERT_CHUNK = 16;

export class DatasetIdTaken extends Error {
  override name = 'DatasetIdTaken';
  constructor(readonly datasetId: string) {
    super(`dataset id "${datasetId}" is already taken; choose another id`);
  }
}

export interface DatasetViewer {
  userId: string;
  isAdmin: boolean;
}

export interface StoredItem {
  idx: number;
  itemId: string;
  prompt: string;
  groundTruth: string;
  choices: string[] | null;
  /** Read where a scorer or a prompt needs it (multimodal items name their pictures here). */
  metadata?: Record<string, unknown> | null;
}

async function insertItems(tx: Tx, datasetId: string, items: readonly DatasetItem[]): Promise<void> {
  for (let start = 0; start < items.length; start += INSERT_CHUNK_ROWS) {
    await tx.insert(datasetItems).values(
      items.slice(start, start + INSERT_CHUNK_ROWS).map((item, k) => ({
        datasetId,
        idx: start + k,
        itemId: item.id,
        prompt: item.prompt,
        groundTruth: item.ground_truth,
        choices: item.choices ?? null,
        metadata: item.metadata ?? null,
      })),
    );
  }
}

/** A built-in dataset as its generator produced it, with the hash of its canonical content. */
export interface BuiltinDatasetRecord {
  id: string;
  name: string;
  domain: Domain;
  task: string;
  metric: MetricName;
  description: string;
  items: readonly DatasetItem[];
  contentHash: string;
  /** Scored by reviewers in formal runs of SFT models (docs/manual-review.md). */
  subjective?: boolean;
}

/**
 * Stores the built-in datasets, or brings them up to date. Safe on every start and from several
 * processes at once: an advisory lock serialises them, and a dataset whose stored content hash
 * already matches keeps its items untouched.
 */
export async function upsertBuiltinDatasets(db: Db, builtins: readonly BuiltinDatasetRecord[]): Promise<void> {
  for (const builtin of builtins) {
    const { items, contentHash } = builtin;
    const row = {
      name: builtin.name,
      domain: builtin.domain,
      task: builtin.task,
      description: builtin.description,
      metric: builtin.metric,
      subjective: builtin.subjective ?? false,
      builtin: true,
      ownerId: null,
      size: items.length,
      contentHash,
    };
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${BUILTIN_DATASETS_LOCK})`);
      const [stored] = await tx.select().from(datasets).where(eq(datasets.id, builtin.id));
      if (stored && !stored.builtin) {
        throw new Error(
          `cannot store built-in dataset "${builtin.id}": a custom dataset of another user already has that id`,
        );
      }
      if (!stored) {
        await tx.insert(datasets).values({ id: builtin.id, ...row });
        await insertItems(tx, builtin.id, items);
        return;
      }
      const unchanged = (Object.keys(row) as (keyof typeof row)[]).every((key) => stored[key] === row[key]);
      if (unchanged) return;
      await tx.update(datasets).set(row).where(eq(datasets.id, builtin.id));
      if (stored.contentHash !== contentHash) {
        await tx.delete(datasetItems).where(eq(datasetItems.datasetId, builtin.id));
        await insertItems(tx, builtin.id, items);
      }
    });
  }
}

export interface RegisterDatasetFields {
  id: string;
  name: string;
  domain: Domain;
  task: string;
  metric: MetricName;
  description?: string;
  source?: DatasetSource;
}

/**
 * Stores a user's dataset and its items in one transaction, so a failure leaves nothing behind.
 * The primary key decides races: of concurrent registrations of one id exactly one wins and the
 * others get DatasetIdTaken. Reserved ids (the built-ins') are taken even before start-up has stored them.
 */
export async function registerCustomDataset(
  db: Db,
  ownerId: string,
  body: RegisterDatasetFields,
  items: readonly DatasetItem[],
  content: {
    contentHash: string;
    reservedIds: ReadonlySet<string>;
    /** A custom multimodal dataset's pictures (datasets/multimodalDataset.ts). */
    pictures?: readonly { name: string; sha256: string; content: Buffer }[];
  },
): Promise<DatasetView> {
  const source = body.source ?? 'items';
  if (items.length === 0 && source === 'items') throw new Error('a dataset needs at least one item');
  if (items.length > 0 && source === 'image') throw new Error("an image's benchmark has no items here");
  if (content.reservedIds.has(body.id)) throw new DatasetIdTaken(body.id);
  const { contentHash } = content;
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(datasets)
      .values({
        id: body.id,
        name: body.name,
        domain: body.domain,
        task: body.task,
        description: body.description ?? '',
        metric: body.metric,
        subjective: false,
        builtin: false,
        ownerId,
        size: items.length,
        contentHash,
        source,
      })
      .onConflictDoNothing({ target: datasets.id })
      .returning();
    if (!created) throw new DatasetIdTaken(body.id);
    await insertItems(tx, body.id, items);
    // A few at a time: each may be megabytes.
    const pictures = content.pictures ?? [];
    for (let start = 0; start < pictures.length; start += PICTURE_INSERT_CHUNK)
      await tx
        .insert(datasetPictures)
        .values(pictures.slice(start, start + PICTURE_INSERT_CHUNK).map((p) => ({ datasetId: body.id, ...p })));
    return toView(created);
  });
}

function visibleTo(viewer: DatasetViewer): SQL | undefined {
  return viewer.isAdmin ? undefined : or(eq(datasets.builtin, true), eq(datasets.ownerId, viewer.userId));
}

/** Built-ins and the viewer's own datasets (every dataset for an admin), by domain, task and id. */
export async function listVisibleDatasets(
  db: Db,
  viewer: DatasetViewer,
  filter: { domain?: Domain } = {},
): Promise<DatasetView[]> {
  const rows = await db
    .select()
    .from(datasets)
    .where(and(visibleTo(viewer), filter.domain ? eq(datasets.domain, filter.domain) : undefined))
    .orderBy(asc(datasets.domain), asc(datasets.task), asc(datasets.id));
  return rows.map(toView);
}

/** Those of `ids` the viewer may use, in the order asked; the caller reports the rest as missing. */
export async function getVisibleDatasets(
  db: Db,
  viewer: DatasetViewer,
  ids: readonly string[],
): Promise<DatasetView[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select()
    .from(datasets)
    .where(and(visibleTo(viewer), inArray(datasets.id, [...new Set(ids)])));
  const byId = new Map(rows.map((r) => [r.id, toView(r)]));
  return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
}

/** The items at the given positions (one query; a batch asks for up to 1000), ordered by position. */
export async function getItemsByIndices(db: Db, datasetId: string, indices: readonly number[]): Promise<StoredItem[]> {
  if (indices.length === 0) return [];
  return db
    .select({
      idx: datasetItems.idx,
      itemId: datasetItems.itemId,
      prompt: datasetItems.prompt,
      groundTruth: datasetItems.groundTruth,
      choices: datasetItems.choices,
      metadata: datasetItems.metadata,
    })
    .from(datasetItems)
    .where(and(eq(datasetItems.datasetId, datasetId), inArray(datasetItems.idx, [...new Set(indices)])))
    .orderBy(asc(datasetItems.idx));
}

/** Items after position `afterIdx` (-1 for the start), for reading a dataset page by page. */
export async function getDatasetItemsPage(
  db: Db,
  datasetId: string,
  afterIdx: number,
  limit: number,
): Promise<(StoredItem & { metadata: Record<string, unknown> | null })[]> {
  return db
    .select({
      idx: datasetItems.idx,
      itemId: datasetItems.itemId,
      prompt: datasetItems.prompt,
      groundTruth: datasetItems.groundTruth,
      choices: datasetItems.choices,
      metadata: datasetItems.metadata,
    })
    .from(datasetItems)
    .where(and(eq(datasetItems.datasetId, datasetId), gt(datasetItems.idx, afterIdx)))
    .orderBy(asc(datasetItems.idx))
    .limit(limit);
}

function toView(row: typeof datasets.$inferSelect): DatasetView {
  return {
    id: row.id,
    name: row.name,
    domain: row.domain,
    task: row.task,
    description: row.description,
    size: row.size,
    metric: row.metric,
    subjective: row.subjective,
    builtin: row.builtin,
    contentHash: row.contentHash,
    source: row.source,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The ids among `ids` whose datasets are scored as code (metric pass_at_k), for checks that treat them apart. */
export async function codeDatasetIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  return datasetIdsWithMetric(db, ids, 'pass_at_k');
}

/** The ids among `ids` of stored datasets whose own metric is `metric`. */
export async function datasetIdsWithMetric(db: Db, ids: readonly string[], metric: MetricName): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: datasets.id })
    .from(datasets)
    .where(and(inArray(datasets.id, [...new Set(ids)]), eq(datasets.metric, metric)));
  return new Set(rows.map((r) => r.id));
}

/** The ids among `ids` of stored datasets marked subjective (built-ins are not all stored: ask their catalogue too). */
export async function subjectiveDatasetIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: datasets.id })
    .from(datasets)
    .where(and(inArray(datasets.id, [...new Set(ids)]), eq(datasets.subjective, true)));
  return new Set(rows.map((r) => r.id));
}

/** One picture of a custom multimodal dataset, or null when it has none of that name. */
export async function getDatasetPicture(db: Db, datasetId: string, name: string): Promise<Buffer | null> {
  const [row] = await db
    .select({ content: datasetPictures.content })
    .from(datasetPictures)
    .where(and(eq(datasetPictures.datasetId, datasetId), eq(datasetPictures.name, name)));
  return row?.content ?? null;
}

/** The names and sizes of a custom dataset's pictures, in name order (none for a built-in or a text dataset). */
export async function datasetPictureSizes(db: Db, datasetId: string): Promise<{ name: string; bytes: number }[]> {
  return db
    .select({ name: datasetPictures.name, bytes: sql<number>`octet_length(${datasetPictures.content})::int` })
    .from(datasetPictures)
    .where(eq(datasetPictures.datasetId, datasetId))
    .orderBy(asc(datasetPictures.name));
}

/**
 * A picture of a multimodal dataset by the name its items give: drawn from its scene for a
 * built-in, read from the table for a custom dataset; null when the dataset has no such picture.
 */
export async function loadDatasetPicture(db: Db, datasetId: string, name: string): Promise<Buffer | null> {
  if (BUILTIN_IMAGE_DATASET_IDS.includes(datasetId))
    return builtinImageNames(datasetId).includes(name) ? renderBuiltinImage(datasetId, name) : null;
  return getDatasetPicture(db, datasetId, name);
}

export type DeleteDatasetOutcome =
  | { ok: true }
  | { ok: false; reason: 'builtin' }
  | { ok: false; reason: 'in-use'; runs: number; evaluations: string[] };

/**
 * Deletes a custom dataset the viewer may see (an owner their own, an admin any), with its items
 * and pictures, unless something uses it: a run (runs keep what they scored on) or an evaluation
 * that lists it (its launches would fail). Prediction sets uploaded for it go with it. Under a lock
 * on the dataset's row, and a run that takes it meanwhile is held off by its foreign key.
 */
export async function deleteCustomDataset(db: Db, viewer: DatasetViewer, id: string): Promise<DeleteDatasetOutcome> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ builtin: datasets.builtin })
      .from(datasets)
      .where(and(eq(datasets.id, id), visibleTo(viewer)))
      .for('update');
    if (!row) throw new RecordNotFound('dataset');
    if (row.builtin) return { ok: false, reason: 'builtin' } as const;
    const [used] = await tx
      .select({ runs: sql<number>`count(distinct ${runDatasets.runId})::int` })
      .from(runDatasets)
      .where(eq(runDatasets.datasetId, id));
    const listing = await tx
      .select({ modelName: evaluations.modelName })
      .from(evaluations)
      .where(sql`${evaluations.datasetIds} ? ${id}`)
      .orderBy(asc(evaluations.modelName));
    if ((used?.runs ?? 0) > 0 || listing.length > 0)
      return {
        ok: false,
        reason: 'in-use',
        runs: used?.runs ?? 0,
        evaluations: listing.map((e) => e.modelName),
      } as const;
    await tx.delete(predictionSets).where(eq(predictionSets.datasetId, id));
    await tx.delete(datasets).where(eq(datasets.id, id));
    return { ok: true } as const;
  });
}
