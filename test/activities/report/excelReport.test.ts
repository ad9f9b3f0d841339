import { beforeAll, describe, expect, it } from 'vitest';
import { PassThrough, Writable } from 'node:stream';
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { and, eq } from 'drizzle-orm';
import { runArtifacts, runDatasets, runs, sampleResults } from '../../../db/schema';
import { computeDatasetMetrics, listRunDatasets } from '../../../db/queries/runRecords';
import {
  datasetInterval,
  intervalSeed,
  overallInterval,
  overallScore,
  taskScores,
} from '../../../scoring/scoreAggregation';
import type { RunStatus, SampleStatus } from '../../../contracts/run';
import {
  INTERVAL_NOTE,
  MAX_CELL_CHARS,
  REPORT_PAGE_SIZE,
  TRUNCATION_MARKER,
  writeRunReport,
} from '../../../activities/report/excelReport';
import { buildAndStoreRunReport, REPORT_ARTIFACT } from '../../../activities/report/storeReport';
import { insertArithmeticDataset, insertRun, insertUser, type FixtureDataset } from '../../support/runFixtures';
import { useTestStack } from '../../support/testStack';

const stack = useTestStack({ db: true });
let ownerId: string;

beforeAll(async () => {
  ownerId = await insertUser(stack.db);
});

interface SampleSpec {
  sampleIdx: number;
  position: number;
  status: SampleStatus;
  predict: string | null;
  score: number | null;
  error: string | null;
  outputLength: number;
  latencyMs: number;
  attempts: number;
}

async function insertSamples(runId: string, datasetId: string, samples: SampleSpec[]) {
  for (let i = 0; i < samples.length; i += 2_000) {
    await stack.db.insert(sampleResults).values(samples.slice(i, i + 2_000).map((s) => ({ runId, datasetId, ...s })));
  }
}

function sample(sampleIdx: number, position: number, overrides: Partial<SampleSpec> = {}): SampleSpec {
  return {
    sampleIdx,
    position,
    status: 'scored',
    predict: String(sampleIdx),
    score: sampleIdx % 2,
    error: null,
    outputLength: 10 + sampleIdx,
    latencyMs: 100 + sampleIdx,
    attempts: 1,
    ...overrides,
  };
}

/** Closes a dataset the way the lifecycle activity does, with fixed timestamps to assert on. */
async function closeDatasetAt(runId: string, d: FixtureDataset, status: RunStatus, startedAt: Date, endedAt: Date) {
  const metrics = await computeDatasetMetrics(stack.db, runId, d.id, d.metric);
  await stack.db
    .update(runDatasets)
    .set({ status, metrics, startedAt, endedAt, done: metrics.scored + metrics.failed, failed: metrics.failed })
    .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, d.id)));
}

async function reportBuffer(
  runId: string,
  onProgress?: (rows: number) => void,
): Promise<{ buffer: Buffer; rows: number }> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  const { rows } = await writeRunReport(stack.db, runId, output, onProgress);
  return { buffer: Buffer.concat(chunks), rows };
}

async function loadWorkbook(buffer: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(buffer as unknown as ArrayBuffer);
  return workbook;
}

function rowValues(sheet: ExcelJS.Worksheet, rowNumber: number, columns: number): unknown[] {
  const row = sheet.getRow(rowNumber);
  return Array.from({ length: columns }, (_, i) => row.getCell(i + 1).value ?? null);
}

describe('run report', () => {
  it('summarises datasets, tasks and the overall score and lists every sample in order', async () => {
    const db = stack.db;
    const a = await insertArithmeticDataset(db, 5, 'arithmetic');
    const b = await insertArithmeticDataset(db, 4, 'arithmetic');
    const c = await insertArithmeticDataset(db, 3, 'reading');
    const failedDataset = await insertArithmeticDataset(db, 2, 'reading');
    const runId = await insertRun(db, {
      ownerId,
      endpoint: 'http://proctor:s3cret-pass@model.example:8000/v1?api_key=s3cret-query',
      datasets: [a, b, c, failedDataset],
    });

    const longPrediction = 'x'.repeat(20_000) + '\u0001' + 'y'.repeat(19_999);
    await insertSamples(runId, a.id, [
      sample(0, 0, { score: 1 }),
      sample(1, 1, {
        status: 'failed',
        predict: null,
        score: null,
        error: 'endpoint timed out\u0007 after 3 attempts',
        outputLength: 0,
        attempts: 3,
      }),
      sample(2, 2, { score: 1, predict: longPrediction, outputLength: 9_000 }),
      sample(3, 3, { score: 0 }),
      sample(4, 4, { score: 0.5 }),
    ]);
    // Positions run opposite to item indices: the report must follow the plan, not the items.
    await insertSamples(runId, b.id, [
      sample(0, 3, { score: 1 }),
      sample(1, 2, { score: 1 }),
      sample(2, 1, { score: 0 }),
      sample(3, 0, { status: 'failed', predict: null, score: null, error: 'HTTP 500' }),
    ]);
    await insertSamples(runId, c.id, [
      sample(2, 0, { score: 0.25 }),
      sample(0, 1, { score: 1 }),
      sample(1, 2, { score: 1 }),
    ]);
    await insertSamples(runId, failedDataset.id, [
      sample(0, 0, { status: 'failed', predict: null, score: null, error: 'HTTP 401' }),
    ]);

    const t0 = new Date('2025-03-01T10:00:00.000Z');
    const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
    await closeDatasetAt(runId, a, 'succeeded', at(0), at(1));
    await closeDatasetAt(runId, b, 'succeeded', at(1), at(2));
    await closeDatasetAt(runId, c, 'succeeded', at(2), at(3));
    await closeDatasetAt(runId, failedDataset, 'failed', at(3), at(4));
    await db
      .update(runs)
      .set({ status: 'succeeded', startedAt: at(0), endedAt: at(5) })
      .where(eq(runs.id, runId));

    const progress: number[] = [];
    const { buffer, rows } = await reportBuffer(runId, (n) => progress.push(n));
    expect(rows).toBe(13);
    expect(progress.at(-1)).toBe(13);

    const workbook = await loadWorkbook(buffer);
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Summary', 'Details']);

    // Summary: the header block.
    const summary = workbook.getWorksheet('Summary')!;
    const header = new Map<string, unknown>();
    summary.eachRow((row) => {
      const label = row.getCell(1).value;
      if (typeof label === 'string') header.set(label, row.getCell(2).value);
    });
    const runRow = (await db.select().from(runs).where(eq(runs.id, runId)))[0]!;
    expect(header.get('Model')).toBe(runRow.config.modelName);
    expect(header.get('Evaluation')).toBe(runRow.evaluationId);
    expect(header.get('Run version')).toBe(1);
    expect(header.get('Run type')).toBe('formal');
    expect(header.get('Status')).toBe('succeeded');
    expect(header.get('Started (UTC)')).toBe('2025-03-01T10:00:00.000Z');
    expect(header.get('Ended (UTC)')).toBe('2025-03-01T10:05:00.000Z');
    expect(header.get('Endpoint host')).toBe('model.example:8000');
    for (const sheet of workbook.worksheets) {
      sheet.eachRow((row) => row.eachCell((cell) => expect(String(cell.value)).not.toContain('s3cret')));
    }

    // Summary: the table, with its header row frozen.
    let tableStart = 0;
    summary.eachRow((row, n) => {
      if (row.getCell(1).value === 'Task' && row.getCell(2).value === 'Dataset') tableStart = n;
    });
    expect(tableStart).toBeGreaterThan(0);
    expect(summary.views[0]).toMatchObject({ state: 'frozen', ySplit: tableStart });
    expect(summary.getRow(tableStart).getCell(1).font?.bold).toBe(true);
    expect(rowValues(summary, tableStart, 12)).toEqual([
      'Task',
      'Dataset',
      'Status',
      'Samples',
      'Scored',
      'Failed',
      'Score',
      '95% CI low',
      '95% CI high',
      'Avg output length (tokens)',
      'Started',
      'Ended',
    ]);

    const datasetRows = await listRunDatasets(db, runId);
    datasetRows.forEach((d, i) => {
      const m = d.metrics!;
      expect(rowValues(summary, tableStart + 1 + i, 12)).toEqual([
        d.task,
        d.datasetId,
        d.status,
        d.total,
        m.scored,
        m.failed,
        m.score,
        m.ci95!.lower,
        m.ci95!.upper,
        m.avgOutputLength,
        d.startedAt!.toISOString(),
        d.endedAt!.toISOString(),
      ]);
      for (const column of [7, 8, 9]) expect(summary.getRow(tableStart + 1 + i).getCell(column).numFmt).toBe('0.0000');
      // Each interval brackets its score.
      expect(m.ci95!.lower).toBeLessThanOrEqual(m.score);
      expect(m.ci95!.upper).toBeGreaterThanOrEqual(m.score);
    });
    // Dataset a: scores 1, 0 (failed), 1, 0, 0.5 over 5 samples; its interval is the bootstrap's
    // over exactly those, seeded by the run and the dataset.
    expect(datasetRows[0]!.metrics!.score).toBeCloseTo(2.5 / 5, 12);
    expect(datasetRows[0]!.metrics!.ci95).toEqual(datasetInterval([1, 0, 1, 0, 0.5], intervalSeed(runId, a.id)).ci95);
    expect(datasetRows[0]!.metrics!.ci95!.upper).toBeGreaterThan(datasetRows[0]!.metrics!.ci95!.lower);
    // The failed dataset's one sample failed: its interval is the point 0.
    expect(datasetRows[3]!.metrics).toMatchObject({ score: 0, ci95: { lower: 0, upper: 0 }, standardError: 0 });

    const tasks = taskScores(datasetRows);
    expect(tasks.map((t) => t.task)).toEqual(['arithmetic', 'reading']);
    const firstTaskRow = tableStart + 1 + datasetRows.length;
    const succeeded = datasetRows.filter((d) => d.status === 'succeeded');
    tasks.forEach((t, i) => {
      const inTask = succeeded.filter((d) => d.task === t.task);
      const values = rowValues(summary, firstTaskRow + i, 10);
      expect(values[0]).toBe(t.task);
      expect(values[1]).toBe(`average of ${t.datasets} dataset(s)`);
      expect(values[3]).toBe(inTask.reduce((n, d) => n + d.total, 0));
      expect(values.slice(6, 9)).toEqual([t.score, t.ci95!.lower, t.ci95!.upper]);
      expect(t.ci95!.lower).toBeLessThanOrEqual(t.score);
      expect(t.ci95!.upper).toBeGreaterThanOrEqual(t.score);
    });
    // Arithmetic averages two datasets: their standard errors combine. Reading has one: its interval.
    expect(tasks[0]!.standardError).toBeCloseTo(
      Math.hypot(datasetRows[0]!.metrics!.standardError!, datasetRows[1]!.metrics!.standardError!) / 2,
      12,
    );
    expect(tasks[1]!.ci95).toEqual(datasetRows[2]!.metrics!.ci95);
    // The failed dataset is left out of the reading task: only c counts.
    expect(tasks[1]).toMatchObject({ task: 'reading', datasets: 1, score: datasetRows[2]!.metrics!.score });

    const overallRow = summary.getRow(firstTaskRow + tasks.length);
    const scoredTotal = succeeded.reduce((n, d) => n + d.metrics!.scored, 0);
    const weightedLength =
      succeeded.reduce((n, d) => n + d.metrics!.avgOutputLength * d.metrics!.scored, 0) / scoredTotal;
    expect(overallRow.getCell(1).value).toBe('Overall');
    expect(overallRow.getCell(7).value).toBe(overallScore(tasks));
    const overall = overallInterval(tasks)!;
    expect([overallRow.getCell(8).value, overallRow.getCell(9).value]).toEqual([overall.lower, overall.upper]);
    expect(overall.lower).toBeLessThan(overallScore(tasks)!);
    expect(overall.upper).toBeGreaterThan(overallScore(tasks)!);
    for (const column of [7, 8, 9]) expect(overallRow.getCell(column).numFmt).toBe('0.0000');
    expect(overallRow.getCell(10).value).toBeCloseTo(weightedLength, 9);
    expect(overallRow.getCell(1).font?.bold).toBe(true);
    // Under the table, what the interval columns mean.
    expect(summary.getRow(firstTaskRow + tasks.length + 2).getCell(1).value).toBe(INTERVAL_NOTE);

    // Details: one row per sample, dataset by dataset, each in plan order.
    const details = workbook.getWorksheet('Details')!;
    expect(details.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(details.rowCount).toBe(1 + 13);
    expect(rowValues(details, 1, 12)).toEqual([
      'ID',
      'Dataset',
      'Task',
      'Sample',
      'Label',
      'Predict',
      'Score',
      'Status',
      'Error',
      'Output length',
      'Latency (ms)',
      'Attempts',
    ]);
    const order = [
      ...[0, 1, 2, 3, 4].map((idx) => [a, idx] as const),
      ...[3, 2, 1, 0].map((idx) => [b, idx] as const),
      ...[2, 0, 1].map((idx) => [c, idx] as const),
      [failedDataset, 0] as const,
    ];
    order.forEach(([d, idx], i) => {
      const values = rowValues(details, i + 2, 12);
      expect(values[0]).toBe(`${d.id}-${idx}`);
      expect(values[1]).toBe(d.id);
      expect(values[2]).toBe(d.task);
      expect(values[3]).toMatch(/^Compute \d+ \+ \d+\. Reply with the number only\.$/);
      expect(typeof values[4]).toBe('string');
    });

    expect(rowValues(details, 2, 12)).toEqual([
      `${a.id}-0`,
      a.id,
      'arithmetic',
      expect.any(String),
      expect.any(String),
      '0',
      1,
      'scored',
      null,
      10,
      100,
      1,
    ]);
    expect(rowValues(details, 3, 12)).toEqual([
      `${a.id}-1`,
      a.id,
      'arithmetic',
      expect.any(String),
      expect.any(String),
      null,
      null,
      'failed',
      'endpoint timed out after 3 attempts',
      0,
      101,
      3,
    ]);
    expect(details.getRow(2).getCell(7).numFmt).toBe('0.0000');

    const long = details.getRow(4).getCell(6).value as string;
    expect(long.length).toBeLessThanOrEqual(MAX_CELL_CHARS);
    expect(long.startsWith('x'.repeat(20_000) + 'y'.repeat(100))).toBe(true);
    expect(long).toContain(`${TRUNCATION_MARKER} 40,000 characters in total]`);
    expect(long).not.toMatch(/[\u0000-\u0008]/);
  });

  it('records the sample seed of a verification and writes a valid file for a run without results', async () => {
    const d = await insertArithmeticDataset(stack.db, 3);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: 'not a url',
      datasets: [d],
      type: 'verification',
      sampleIndices: [0, 2],
    });
    const { buffer, rows } = await reportBuffer(runId);
    expect(rows).toBe(0);
    const workbook = await loadWorkbook(buffer);
    const summary = workbook.getWorksheet('Summary')!;
    const header = new Map<string, unknown>();
    summary.eachRow((row) => header.set(String(row.getCell(1).value), row.getCell(2).value));
    expect(header.get('Run type')).toBe('verification');
    expect(header.get('Sample seed')).toBe(7);
    expect(header.get('Endpoint host')).toBeNull();
    expect(header.get('Overall')).toBe('average of 0 task(s)');
    expect(workbook.getWorksheet('Details')!.rowCount).toBe(1);
  });

  it('leaves the interval cells empty for datasets closed before intervals existed', async () => {
    const db = stack.db;
    const d = await insertArithmeticDataset(db, 3);
    const runId = await insertRun(db, { ownerId, endpoint: 'http://model.example/v1', datasets: [d] });
    await insertSamples(runId, d.id, [sample(0, 0), sample(1, 1), sample(2, 2)]);
    await closeDatasetAt(runId, d, 'succeeded', new Date(), new Date());
    // The metrics as runs stored them before intervals existed: no ci95, no standardError.
    const [row] = await db
      .select()
      .from(runDatasets)
      .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, d.id)));
    const { ci95: _ci95, standardError: _standardError, ...legacy } = row!.metrics!;
    await db
      .update(runDatasets)
      .set({ metrics: legacy as typeof row.metrics })
      .where(and(eq(runDatasets.runId, runId), eq(runDatasets.datasetId, d.id)));
    await db.update(runs).set({ status: 'succeeded' }).where(eq(runs.id, runId));

    const [listed] = await listRunDatasets(db, runId);
    expect(listed!.metrics).toMatchObject({ score: 1 / 3, ci95: null, standardError: null });

    const summary = (await loadWorkbook((await reportBuffer(runId)).buffer)).getWorksheet('Summary')!;
    let datasetRow = 0;
    summary.eachRow((r, n) => {
      if (r.getCell(2).value === d.id) datasetRow = n;
    });
    expect(datasetRow).toBeGreaterThan(0);
    // Dataset, its task, the overall: a score and no interval.
    for (const n of [datasetRow, datasetRow + 1, datasetRow + 2]) {
      expect(rowValues(summary, n, 9).slice(6)).toEqual([1 / 3, null, null]);
    }
    expect(summary.getRow(datasetRow + 2).getCell(1).value).toBe('Overall');
  });

  it('stores the report as the run artifact, replaces it on a rerun and leaves no temporary file', async () => {
    const d = await insertArithmeticDataset(stack.db, 2);
    const runId = await insertRun(stack.db, { ownerId, endpoint: 'http://model.example/v1', datasets: [d] });
    await insertSamples(runId, d.id, [sample(0, 0), sample(1, 1)]);

    const first = await buildAndStoreRunReport(stack.db, runId);
    expect(first.rows).toBe(2);
    await insertSamples(runId, d.id, [sample(2, 2)]); // index 2 has no dataset item: still reported
    const heartbeats: number[] = [];
    const second = await buildAndStoreRunReport(stack.db, runId, (n) => heartbeats.push(n));
    expect(second.rows).toBe(3);
    expect(heartbeats).toEqual([3]);

    const stored = await stack.db.select().from(runArtifacts).where(eq(runArtifacts.runId, runId));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: REPORT_ARTIFACT.kind, contentType: REPORT_ARTIFACT.contentType });
    expect(stored[0]!.content.length).toBe(second.bytes);
    const details = (await loadWorkbook(stored[0]!.content)).getWorksheet('Details')!;
    expect(details.rowCount).toBe(4);
    expect(details.getRow(4).getCell(1).value).toBe('#2');

    await expect(buildAndStoreRunReport(stack.db, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      name: 'RunNotFound',
    });
    expect(await leftoverReportFiles([runId, '00000000-0000-4000-8000-000000000000'])).toEqual([]);
  });

  it('fails rather than hangs when the output breaks', async () => {
    const d = await insertArithmeticDataset(stack.db, 2);
    const runId = await insertRun(stack.db, { ownerId, endpoint: 'http://model.example/v1', datasets: [d] });
    await insertSamples(runId, d.id, [sample(0, 0), sample(1, 1)]);
    const broken = new Writable({
      write: (_chunk, _encoding, callback) => callback(new Error('no space left on device')),
    });
    await expect(writeRunReport(stack.db, runId, broken)).rejects.toThrow('no space left on device');
  });

  it('writes a 20,000-sample run page by page', { timeout: 180_000 }, async () => {
    const size = 20_000;
    const d = await insertArithmeticDataset(stack.db, size);
    const runId = await insertRun(stack.db, { ownerId, endpoint: 'http://model.example/v1', datasets: [d] });
    const samples = Array.from({ length: size }, (_, i) =>
      sample(i, i, {
        predict: `answer ${i}: ${'reasoning '.repeat(20)}`,
        status: i % 50 === 0 ? 'failed' : 'scored',
        score: i % 50 === 0 ? null : i % 3 === 0 ? 1 : 0,
      }),
    );
    await insertSamples(runId, d.id, samples);
    await closeDatasetAt(runId, d, 'succeeded', new Date(), new Date());

    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
    const progress: number[] = [];
    const started = performance.now();
    let result: { bytes: number; rows: number };
    try {
      result = await buildAndStoreRunReport(stack.db, runId, (n) => progress.push(n));
    } finally {
      clearInterval(sampler);
    }
    const elapsedMs = performance.now() - started;
    console.log(
      `report of ${size} samples: ${elapsedMs.toFixed(0)} ms, ${(result.bytes / 1024).toFixed(0)} KiB, ` +
        `peak heap growth ${((peakHeap - heapBefore) / 2 ** 20).toFixed(1)} MiB`,
    );

    expect(result.rows).toBe(size);
    expect(progress).toHaveLength(Math.ceil(size / REPORT_PAGE_SIZE) + 1);
    expect(progress.at(-1)).toBe(size);

    const [artifact] = await stack.db
      .select()
      .from(runArtifacts)
      .where(and(eq(runArtifacts.runId, runId), eq(runArtifacts.kind, REPORT_ARTIFACT.kind)));
    const details = (await loadWorkbook(artifact!.content)).getWorksheet('Details')!;
    expect(details.rowCount).toBe(size + 1);
    expect(details.getRow(size + 1).getCell(1).value).toBe(`${d.id}-${size - 1}`);
  });
});

/** Report files the given runs left in the temporary directory. */
async function leftoverReportFiles(runIds: string[]): Promise<string[]> {
  const tmp = os.tmpdir();
  const found: string[] = [];
  for (const entry of await readdir(tmp)) {
    if (!entry.startsWith('proctor-report-')) continue;
    for (const runId of runIds) {
      const file = path.join(tmp, entry, `${runId}.xlsx`);
      if (
        await stat(file).then(
          () => true,
          () => false,
        )
      )
        found.push(file);
    }
  }
  return found;
}
