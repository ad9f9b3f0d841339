import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { and, asc, eq, sql } from 'drizzle-orm';
import { Value } from '@sinclair/typebox/value';
import { connectDb, type Db, type DbHandle } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { datasetItems, datasets } from '../../db/schema';
import {
  DatasetIdTaken,
  getDatasetItemsPage,
  getItemsByIndices,
  getVisibleDatasets,
  listVisibleDatasets,
  registerCustomDataset,
  upsertBuiltinDatasets,
} from '../../db/queries/datasets';
import { BUILTIN_DATASETS, BUILTIN_DATASET_IDS, builtinDatasetRecords } from '../../datasets/builtinCatalog';
import { datasetContentHash } from '../../datasets/contentHash';
import { DatasetView, type DatasetItem } from '../../contracts/dataset';
import { insertUser } from '../support/runFixtures';
import { requireEnv } from '../support/env';
import { useTestStack } from '../support/testStack';

// Every stored built-in, the subjective ones (written, not generated) included.
const BUILTIN_IDS = [...BUILTIN_DATASET_IDS];
const BUILTINS = builtinDatasetRecords();

/** Registration as the API does it: the content hashed and the built-in ids reserved. */
function register(db: Db, ownerId: string, body: Parameters<typeof registerCustomDataset>[2], items: DatasetItem[]) {
  return registerCustomDataset(db, ownerId, body, items, {
    contentHash: datasetContentHash(items),
    reservedIds: BUILTIN_DATASET_IDS,
  });
}
const stack = useTestStack({ db: true });

const newId = (prefix = 'ds') => `${prefix}-${randomUUID().slice(0, 8)}`;

function makeItems(n: number, prefix = 'q'): DatasetItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    prompt: `Compute ${i} + 1. Reply with the number only.`,
    ground_truth: String(i + 1),
    ...(i % 3 === 0 ? { choices: ['x', 'y'], metadata: { i, tag: 'three' } } : {}),
  }));
}

/** The items of a dataset as stored, turned back into dataset items, in position order. */
async function storedItems(db: Db, datasetId: string): Promise<DatasetItem[]> {
  const rows = await db
    .select()
    .from(datasetItems)
    .where(eq(datasetItems.datasetId, datasetId))
    .orderBy(asc(datasetItems.idx));
  rows.forEach((r, i) => expect(r.idx).toBe(i));
  return rows.map((r) => ({
    id: r.itemId,
    prompt: r.prompt,
    ground_truth: r.groundTruth,
    ...(r.choices ? { choices: r.choices } : {}),
    ...(r.metadata ? { metadata: r.metadata } : {}),
  }));
}

/** Every built-in is stored once, with exactly the generated items and their hash. */
async function expectBuiltinsStored(db: Db): Promise<void> {
  const rows = await db.select().from(datasets).where(eq(datasets.builtin, true)).orderBy(asc(datasets.id));
  expect(rows.map((r) => r.id)).toEqual([...BUILTIN_IDS].sort());
  for (const builtin of BUILTIN_DATASETS) {
    const row = rows.find((r) => r.id === builtin.id)!;
    const generated = builtin.generate();
    expect(row).toMatchObject({
      name: builtin.name,
      task: builtin.task,
      metric: builtin.metric,
      domain: 'nlp',
      size: builtin.size,
      ownerId: null,
      subjective: false,
    });
    expect(row.contentHash).toBe(datasetContentHash(generated));
    const items = await storedItems(db, builtin.id);
    expect(items).toHaveLength(builtin.size);
    expect(datasetContentHash(items)).toBe(row.contentHash);
  }
}

describe('upsertBuiltinDatasets', () => {
  it('stores the built-ins once when several processes start on an empty database at the same moment', async () => {
    const database = `proctor_datasets_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const adminUrl = requireEnv('DATABASE_URL');
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${database}"`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    const starters: DbHandle[] = [];
    try {
      await migrateDatabase(url.toString());
      starters.push(...Array.from({ length: 3 }, () => connectDb(url.toString(), { max: 2 })));
      await Promise.all(starters.map((s) => upsertBuiltinDatasets(s.db, BUILTINS)));
      await expectBuiltinsStored(starters[0]!.db);
      // and again, now with everything in place: nothing changes
      const before = await starters[0]!.db
        .select({ id: datasets.id, createdAt: datasets.createdAt })
        .from(datasets)
        .orderBy(datasets.id);
      await Promise.all(starters.map((s) => upsertBuiltinDatasets(s.db, BUILTINS)));
      expect(
        await starters[0]!.db
          .select({ id: datasets.id, createdAt: datasets.createdAt })
          .from(datasets)
          .orderBy(datasets.id),
      ).toEqual(before);
      await expectBuiltinsStored(starters[0]!.db);
    } finally {
      await Promise.all(starters.map((s) => s.close()));
      await admin.unsafe(`drop database if exists "${database}" with (force)`);
      await admin.end({ timeout: 5 });
    }
  });

  it('repairs stored built-ins whose content or description went stale, concurrently', async () => {
    await upsertBuiltinDatasets(stack.db, BUILTINS);
    // Simulate an older release: a different hash and items for one dataset, another's name changed.
    await stack.db
      .update(datasets)
      .set({ contentHash: 'sha256:stale', name: 'old name' })
      .where(eq(datasets.id, 'word-reverse'));
    await stack.db
      .delete(datasetItems)
      .where(and(eq(datasetItems.datasetId, 'word-reverse'), sql`${datasetItems.idx} >= 100`));
    await stack.db
      .update(datasetItems)
      .set({ groundTruth: 'wrong' })
      .where(and(eq(datasetItems.datasetId, 'word-reverse'), eq(datasetItems.idx, 5)));
    await stack.db.update(datasets).set({ description: 'old description' }).where(eq(datasets.id, 'arith-mc'));
    const others = [
      connectDb(requireEnv('DATABASE_URL'), { max: 2 }),
      connectDb(requireEnv('DATABASE_URL'), { max: 2 }),
    ];
    try {
      await Promise.all([
        upsertBuiltinDatasets(stack.db, BUILTINS),
        ...others.map((o) => upsertBuiltinDatasets(o.db, BUILTINS)),
      ]);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
    await expectBuiltinsStored(stack.db);
  });
});

describe('registerCustomDataset', () => {
  it('stores the dataset and its items (in chunks) in one go and returns its view', async () => {
    const ownerId = await insertUser(stack.db);
    const id = newId();
    const items = makeItems(2500);
    const view = await register(
      stack.db,
      ownerId,
      { id, name: 'Mine', domain: 'nlp', task: 'sums', metric: 'exact_match', description: 'd' },
      items,
    );
    expect(Value.Check(DatasetView, view)).toBe(true);
    expect(view).toMatchObject({
      id,
      name: 'Mine',
      domain: 'nlp',
      task: 'sums',
      metric: 'exact_match',
      description: 'd',
      size: 2500,
      builtin: false,
      subjective: false,
    });
    expect(view.contentHash).toBe(datasetContentHash(items));
    expect(new Date(view.createdAt).toISOString()).toBe(view.createdAt);
    const [row] = await stack.db.select().from(datasets).where(eq(datasets.id, id));
    expect(row!.ownerId).toBe(ownerId);
    expect(await storedItems(stack.db, id)).toEqual(items);
  });

  it('lets exactly one of ten concurrent registrations of one id win', async () => {
    const ownerId = await insertUser(stack.db);
    const id = newId();
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, k) =>
        register(
          stack.db,
          ownerId,
          { id, name: `attempt ${k}`, domain: 'nlp', task: 't', metric: 'exact_match' },
          makeItems(50 + k, `a${k}-`),
        ),
      ),
    );
    const won = attempts.filter((a): a is PromiseFulfilledResult<DatasetView> => a.status === 'fulfilled');
    const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const l of lost) {
      expect(l.reason).toBeInstanceOf(DatasetIdTaken);
      expect((l.reason as Error).message).toContain(id);
    }
    const winner = Number(won[0]!.value.name.replace('attempt ', ''));
    expect(await storedItems(stack.db, id)).toEqual(makeItems(50 + winner, `a${winner}-`));
  });

  it('refuses an id that is taken, by another user or by a built-in, and leaves the first untouched', async () => {
    const [alice, bob] = [await insertUser(stack.db), await insertUser(stack.db)];
    const id = newId();
    await register(
      stack.db,
      alice,
      { id, name: 'first', domain: 'nlp', task: 't', metric: 'exact_match' },
      makeItems(3),
    );
    await expect(
      register(stack.db, bob, { id, name: 'second', domain: 'nlp', task: 't', metric: 'exact_match' }, makeItems(4)),
    ).rejects.toBeInstanceOf(DatasetIdTaken);
    await expect(
      register(
        stack.db,
        bob,
        { id: 'arith-basic', name: 'x', domain: 'nlp', task: 't', metric: 'exact_match' },
        makeItems(4),
      ),
    ).rejects.toBeInstanceOf(DatasetIdTaken);
    const [row] = await stack.db.select().from(datasets).where(eq(datasets.id, id));
    expect(row).toMatchObject({ name: 'first', ownerId: alice, size: 3 });
    expect(await storedItems(stack.db, id)).toHaveLength(3);
  });

  it('leaves nothing behind when storing the items fails', async () => {
    const ownerId = await insertUser(stack.db);
    const id = newId();
    const items = makeItems(1500);
    items[1200] = { ...items[1200]!, id: items[3]!.id }; // a duplicate item id in the second chunk
    await expect(
      register(stack.db, ownerId, { id, name: 'n', domain: 'nlp', task: 't', metric: 'exact_match' }, items),
    ).rejects.toThrow();
    expect(await stack.db.select().from(datasets).where(eq(datasets.id, id))).toEqual([]);
    expect(await stack.db.select().from(datasetItems).where(eq(datasetItems.datasetId, id))).toEqual([]);
    // the id is free again
    await register(stack.db, ownerId, { id, name: 'n', domain: 'nlp', task: 't', metric: 'exact_match' }, makeItems(2));
  });
});

describe('visibility', () => {
  let alice: string;
  let bob: string;
  let adminId: string;
  const ids = { aliceNlp: newId('alice'), aliceSafety: newId('alice'), bobNlp: newId('bob') };

  beforeAll(async () => {
    await upsertBuiltinDatasets(stack.db, BUILTINS);
    [alice, bob, adminId] = [
      await insertUser(stack.db),
      await insertUser(stack.db),
      await insertUser(stack.db, 'admin'),
    ];
    await register(
      stack.db,
      alice,
      { id: ids.aliceNlp, name: 'a', domain: 'nlp', task: 'aaa-task', metric: 'exact_match' },
      makeItems(2),
    );
    await register(
      stack.db,
      alice,
      { id: ids.aliceSafety, name: 'a2', domain: 'safety', task: 'refusal', metric: 'exact_match' },
      makeItems(2),
    );
    await register(
      stack.db,
      bob,
      { id: ids.bobNlp, name: 'b', domain: 'nlp', task: 'zzz-task', metric: 'exact_match' },
      makeItems(2),
    );
  });

  const order = (views: DatasetView[]) =>
    [...views].sort((x, y) =>
      x.domain !== y.domain
        ? x.domain < y.domain
          ? -1
          : 1
        : x.task !== y.task
          ? x.task < y.task
            ? -1
            : 1
          : x.id < y.id
            ? -1
            : x.id > y.id
              ? 1
              : 0,
    );

  it('a user sees the built-ins and their own datasets, ordered by domain, task and id', async () => {
    const seen = await listVisibleDatasets(stack.db, { userId: alice, isAdmin: false });
    expect(seen.map((d) => d.id).sort()).toEqual([...BUILTIN_IDS, ids.aliceNlp, ids.aliceSafety].sort());
    expect(seen).toEqual(order(seen));
    for (const view of seen) expect(Value.Check(DatasetView, view)).toBe(true);
    expect(
      seen
        .filter((d) => d.builtin)
        .map((d) => d.id)
        .sort(),
    ).toEqual([...BUILTIN_IDS].sort());
    const bobs = await listVisibleDatasets(stack.db, { userId: bob, isAdmin: false });
    expect(bobs.map((d) => d.id).sort()).toEqual([...BUILTIN_IDS, ids.bobNlp].sort());
  });

  it('filters by domain', async () => {
    const nlp = await listVisibleDatasets(stack.db, { userId: alice, isAdmin: false }, { domain: 'nlp' });
    const nlpBuiltins = BUILTINS.filter((d) => d.domain === 'nlp').map((d) => d.id);
    expect(nlp.map((d) => d.id).sort()).toEqual([...nlpBuiltins, ids.aliceNlp].sort());
    const multimodal = await listVisibleDatasets(stack.db, { userId: alice, isAdmin: false }, { domain: 'multimodal' });
    expect(multimodal.map((d) => d.id).sort()).toEqual(
      BUILTINS.filter((d) => d.domain === 'multimodal')
        .map((d) => d.id)
        .sort(),
    );
    expect(multimodal).toHaveLength(3);
    const safety = await listVisibleDatasets(stack.db, { userId: alice, isAdmin: false }, { domain: 'safety' });
    const safetyBuiltins = BUILTINS.filter((d) => d.domain === 'safety').map((d) => d.id);
    expect(safetyBuiltins).toHaveLength(5);
    expect(safety.map((d) => d.id).sort()).toEqual([...safetyBuiltins, ids.aliceSafety].sort());
  });

  it('an admin sees every dataset', async () => {
    const seen = await listVisibleDatasets(stack.db, { userId: adminId, isAdmin: true });
    const [{ n }] = (await stack.db.select({ n: sql<number>`count(*)::int` }).from(datasets)) as [{ n: number }];
    expect(seen).toHaveLength(n);
    expect(seen.map((d) => d.id)).toEqual(
      expect.arrayContaining([...BUILTIN_IDS, ids.aliceNlp, ids.aliceSafety, ids.bobNlp]),
    );
    expect(seen).toEqual(order(seen));
  });

  it('getVisibleDatasets returns only the visible ones of those asked, in the order asked', async () => {
    const asked = [ids.bobNlp, 'arith-mc', 'no-such-dataset', ids.aliceNlp, 'arith-mc'];
    expect((await getVisibleDatasets(stack.db, { userId: alice, isAdmin: false }, asked)).map((d) => d.id)).toEqual([
      'arith-mc',
      ids.aliceNlp,
    ]);
    expect((await getVisibleDatasets(stack.db, { userId: bob, isAdmin: false }, asked)).map((d) => d.id)).toEqual([
      ids.bobNlp,
      'arith-mc',
    ]);
    expect((await getVisibleDatasets(stack.db, { userId: adminId, isAdmin: true }, asked)).map((d) => d.id)).toEqual([
      ids.bobNlp,
      'arith-mc',
      ids.aliceNlp,
    ]);
    expect(await getVisibleDatasets(stack.db, { userId: alice, isAdmin: false }, [])).toEqual([]);
  });
});

describe('reading items', () => {
  beforeAll(async () => {
    await upsertBuiltinDatasets(stack.db, BUILTINS);
  });

  it('getItemsByIndices returns the asked positions, ordered, skipping ones that do not exist', async () => {
    const generated = BUILTIN_DATASETS.find((d) => d.id === 'arith-mc')!.generate();
    const rows = await getItemsByIndices(stack.db, 'arith-mc', [499, 0, 250, 0, 500, 7]);
    expect(rows.map((r) => r.idx)).toEqual([0, 7, 250, 499]);
    for (const r of rows) {
      const item = generated[r.idx]!;
      expect(r).toEqual({
        idx: r.idx,
        itemId: item.id,
        prompt: item.prompt,
        groundTruth: item.ground_truth,
        choices: item.choices,
        metadata: item.metadata ?? null,
      });
    }
    const plain = await getItemsByIndices(stack.db, 'arith-basic', [3]);
    expect(plain[0]!.choices).toBeNull();
    expect(await getItemsByIndices(stack.db, 'arith-basic', [])).toEqual([]);
  });

  it('getItemsByIndices serves a whole batch of 1000 in one call', async () => {
    const indices = Array.from({ length: 1000 }, (_, i) => 999 - i);
    const rows = await getItemsByIndices(stack.db, 'arith-basic', indices);
    expect(rows.map((r) => r.idx)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('getDatasetItemsPage pages through a dataset in order', async () => {
    const generated = BUILTIN_DATASETS.find((d) => d.id === 'word-reverse')!.generate();
    const seen: string[] = [];
    let after = -1;
    for (;;) {
      const page = await getDatasetItemsPage(stack.db, 'word-reverse', after, 256);
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.itemId));
      after = page[page.length - 1]!.idx;
    }
    expect(seen).toEqual(generated.map((i) => i.id));
  });
});
