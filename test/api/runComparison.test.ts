/**
 * A run's answers beside a reference run's through HTTP: both answers and scores per shared
 * sample, the disagreements alone, the counts, pages, the Excel workbook, and the refusals (a
 * reference run one cannot see, a dataset one run lacks, different contents).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { eq } from 'drizzle-orm';
import { runs, sampleResults } from '../../db/schema';
import { insertArithmeticDataset, insertRun, type FixtureDataset } from '../support/runFixtures';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ api: true });
let alice: { id: string; apiKey: string };
let bob: { id: string; apiKey: string };
let dataset: FixtureDataset;
let runA: string;
let runB: string;

/** Scores per sample: run A is right on even samples, B on samples below 6; sample 9 failed in B. */
async function storeResults(runId: string, score: (i: number) => number | null) {
  await stack.db.insert(sampleResults).values(
    Array.from({ length: 10 }, (_, i) => ({
      runId,
      datasetId: dataset.id,
      sampleIdx: i,
      position: i,
      predict: score(i) === null ? null : `answer ${runId.slice(0, 4)} ${i}`,
      score: score(i),
      status: score(i) === null ? ('failed' as const) : ('scored' as const),
      error: score(i) === null ? 'timeout' : null,
      promptTokens: score(i) === null ? 0 : i + 1,
      outputLength: score(i) === null ? 0 : 2,
    })),
  );
}

beforeAll(async () => {
  [alice, bob] = await Promise.all([stack.api.createUser(), stack.api.createUser()]);
  dataset = await insertArithmeticDataset(stack.db, 10);
  runA = await insertRun(stack.db, { ownerId: alice.id, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  runB = await insertRun(stack.db, { ownerId: alice.id, endpoint: 'http://127.0.0.1:9/v1', datasets: [dataset] });
  await storeResults(runA, (i) => (i % 2 === 0 ? 1 : 0));
  await storeResults(runB, (i) => (i === 9 ? null : i < 6 ? 1 : 0));
});

const compare = (query: string, key = alice.apiKey, runId = runA) =>
  stack.api.request('GET', `/v1/runs/${runId}/comparison?${query}`, { key });

describe('GET /v1/runs/{id}/comparison', () => {
  it('shows both answers and scores per shared sample, and counts agreement', async () => {
    const res = await compare(`against=${runB}&dataset=${dataset.id}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.counts).toEqual({
      both: 10,
      agree: 4,
      disagree: 6,
      runBetter: 2,
      referenceBetter: 3,
      // Each run's tokens on the shared samples; B's failed sample 9 spent none.
      tokens: {
        run: { promptTokens: 55, completionTokens: 20 },
        reference: { promptTokens: 45, completionTokens: 18 },
      },
    });
    expect(res.body.items).toHaveLength(10);
    expect(res.body.items[1]).toMatchObject({
      index: 1,
      id: `${dataset.id}-1`,
      label: expect.any(String),
      run: {
        predict: `answer ${runA.slice(0, 4)} 1`,
        score: 0,
        status: 'scored',
        promptTokens: 2,
        completionTokens: 2,
      },
      reference: { predict: `answer ${runB.slice(0, 4)} 1`, score: 1, status: 'scored' },
      agree: false,
    });
    expect(res.body.items[9]).toMatchObject({
      reference: { predict: null, score: null, status: 'failed' },
      agree: false,
    });
  });

  it('keeps only the disagreements when asked, a page at a time', async () => {
    const first = await compare(`against=${runB}&dataset=${dataset.id}&only=disagreements&limit=4`);
    expect(first.body.items.map((s: { index: number }) => s.index)).toEqual([1, 3, 5, 6]);
    expect(first.body.counts.disagree).toBe(6);
    const second = await compare(
      `against=${runB}&dataset=${dataset.id}&only=disagreements&limit=4&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.items.map((s: { index: number }) => s.index)).toEqual([8, 9]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('writes the comparison as a workbook', async () => {
    const res = await fetch(
      `${stack.api.url}/v1/runs/${runA}/comparison.xlsx?against=${runB}&dataset=${dataset.id}&only=disagreements`,
      {
        headers: { authorization: `Bearer ${alice.apiKey}` },
      },
    );
    expect(res.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await res.arrayBuffer());
    const summary = workbook.getWorksheet('Summary')!;
    expect(summary.getCell('B5').value).toBe(10);
    expect(summary.getCell('B7').value).toBe(6);
    const samples = workbook.getWorksheet('Samples')!;
    const rows = (samples.getSheetValues().slice(2) as unknown[][]).map((r) => [r[1], r[6], r[9], r[11]]);
    expect(rows).toEqual([
      [1, 0, 1, 'no'],
      [3, 0, 1, 'no'],
      [5, 0, 1, 'no'],
      [6, 1, 0, 'no'],
      [8, 1, 0, 'no'],
      // A failed sample's score is an empty cell.
      [9, 0, undefined, 'no'],
    ]);
  });

  it('refuses what does not compare, naming the parameter', async () => {
    expect((await compare(`dataset=${dataset.id}`)).body.errors).toEqual([
      { field: 'against', message: expect.stringMatching(/required/) },
    ]);
    const hidden = await insertRun(stack.db, {
      ownerId: bob.id,
      endpoint: 'http://127.0.0.1:9/v1',
      datasets: [dataset],
    });
    expect((await compare(`against=${hidden}&dataset=${dataset.id}`)).body.errors).toEqual([
      { field: 'against', message: 'names no run you can see' },
    ]);
    expect((await compare(`against=${runB}&dataset=nope`)).body.errors).toEqual([
      { field: 'dataset', message: 'must be a dataset both runs have (this run has no nope)' },
    ]);
    // Another content of the same dataset: the samples do not compare.
    const [b] = await stack.db.select().from(runs).where(eq(runs.id, runB));
    await stack.db
      .update(runs)
      .set({
        config: { ...b!.config, datasets: b!.config.datasets.map((d) => ({ ...d, contentHash: 'sha256:other' })) },
      })
      .where(eq(runs.id, runB));
    const changed = await compare(`against=${runB}&dataset=${dataset.id}`);
    expect(changed.status).toBe(409);
    expect(changed.body.detail).toMatch(/different contents/);
    await stack.db.update(runs).set({ config: b!.config }).where(eq(runs.id, runB));
    // Someone else's run: 404, as if missing.
    expect((await compare(`against=${runB}&dataset=${dataset.id}`, bob.apiKey)).status).toBe(404);
  });
});
