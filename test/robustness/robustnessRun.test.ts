/**
 * The robustness pass end to end through HTTP on real workers and the reference model: the same
 * evaluation run with and without `robustness` gives the same clean results and metrics; with it,
 * every sample is asked again with its prompt perturbed (deterministically, as perturbItems gives
 * it for the run's seed), stored apart, and the run view and the Excel summary show accuracy and
 * robustness side by side. PROCTOR_RECORD_HISTORIES=1 records the dataset's history
 * (dataset-robustness.json) for test/workflows/replay.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import { launchAndWaitForEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { uniqueModelName } from '../support/evaluationBodies';
import { temporalClient } from '../support/temporalTestKit';
import type { RunView } from '../../contracts/run';
import { perturbedSampleResults } from '../../db/schema';
import { perturbItems } from '../../scoring/robustness/perturbItems';
import { runPerturbationSeed } from '../../activities/robustness/robustnessPlan';
import { WORKFLOW_TYPES, workflowIds } from '../../temporal.config';
import { recordHistoryFixture, RECORD_HISTORIES } from '../support/historyFixtures';
import { useTestStack } from '../support/testStack';

beforeAll(() => {
  process.env.PROCTOR_CLIENT_THREADS = '0';
});
const stack = useTestStack({ api: true, workers: ['runs', 'inference'], model: { skill: 1 } });
const SIZE = 24;
const item = (i: number) => ({
  id: `q${i}`,
  prompt: `Compute ${17 + i} + ${5 + 2 * i}. Reply with the number only.`,
  ground_truth: String(22 + 3 * i),
});

async function sumsDataset(key: string): Promise<string> {
  const id = `rb-${randomUUID().slice(0, 8)}`;
  const jsonl = Array.from({ length: SIZE }, (_, i) => JSON.stringify(item(i))).join('\n');
  const res = await stack.api.request('POST', '/v1/datasets', {
    key,
    body: { id, name: id, domain: 'nlp', task: 'sums', metric: 'exact_match', jsonl: `${jsonl}\n` },
  });
  expect(res.status, res.text).toBe(201);
  return id;
}

async function evaluation(key: string, dataset: string, robustness: boolean): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: {
      domain: 'nlp',
      modelName: uniqueModelName('robust'),
      datasets: [dataset],
      robustness,
      modelInfo: { type: 'sft' },
      acknowledgeNoTestAnnotations: true,
      deployment: { method: 'api', endpoint: stack.model.url, onlineModelName: 'proctor-reference', apiMode: 'chat' },
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const runToEnd = (key: string, evaluationId: string): Promise<RunView> =>
  launchAndWaitForEnd(stack.api, key, evaluationId, 110_000);

type Result = { id: string; predict: string | null; score: number | null; status: string };
async function results(key: string, runId: string): Promise<Result[]> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}/results?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return (res.body.items as Result[]).map(({ id, predict, score, status }) => ({ id, predict, score, status }));
}

describe('a formal run with robustness', () => {
  it('keeps the clean pass as it is without robustness, stores the perturbed pass apart, and shows both', async () => {
    const { apiKey: key } = await stack.api.createUser();
    const dataset = await sumsDataset(key);
    const plain = await runToEnd(key, await evaluation(key, dataset, false));
    const robust = await runToEnd(key, await evaluation(key, dataset, true));
    expect(plain.status).toBe('succeeded');
    expect(robust.status).toBe('succeeded');

    // The clean pass: the same answers, scores and metrics either way.
    const plainMetrics = plain.datasets[0]!.metrics!;
    const robustMetrics = robust.datasets[0]!.metrics!;
    expect(plainMetrics.robustness).toBeUndefined();
    const { robustness, ci95: _ci, standardError: _se, ...cleanOfRobust } = robustMetrics;
    const { ci95: _ci2, standardError: _se2, ...cleanOfPlain } = plainMetrics;
    expect(cleanOfRobust).toEqual(cleanOfPlain);
    expect(robust.datasets[0]).toMatchObject({ total: SIZE, done: SIZE, failed: 0 });
    expect(await results(key, robust.runId)).toEqual(await results(key, plain.runId));

    // The perturbed pass: every sample once, asked with exactly the prompt perturbItems gives for the run's seed.
    const rows = await stack.api.deps.db
      .select()
      .from(perturbedSampleResults)
      .where(and(eq(perturbedSampleResults.runId, robust.runId), eq(perturbedSampleResults.datasetId, dataset)));
    expect(rows).toHaveLength(SIZE);
    const expected = perturbItems(
      Array.from({ length: SIZE }, (_, i) => item(i)),
      { runSeed: runPerturbationSeed(robust.runId, null), kind: 'mixed' },
    );
    for (const row of rows) expect(row.prompt, `q${row.sampleIdx}`).toBe(expected[row.sampleIdx]!.prompt);
    expect(rows.filter((r) => r.prompt !== item(r.sampleIdx).prompt).length, 'some prompts perturbed').toBeGreaterThan(
      0,
    );
    expect(rows.every((r) => r.status === 'scored' || r.status === 'failed')).toBe(true);
    expect(
      await stack.api.deps.db
        .select()
        .from(perturbedSampleResults)
        .where(eq(perturbedSampleResults.runId, plain.runId)),
    ).toEqual([]);

    // Accuracy and robustness, from the paired scores.
    const perturbedMean = rows.reduce((s, r) => s + (r.score ?? 0), 0) / SIZE;
    expect(robustness).toBeDefined();
    expect(robustness!.n).toBe(SIZE);
    expect(robustness!.cleanAccuracy).toBeCloseTo(robustMetrics.score, 12);
    expect(robustness!.perturbedAccuracy).toBeCloseTo(perturbedMean, 12);
    expect(robustness!.robustness).toBeCloseTo(Math.min(1, perturbedMean / robustMetrics.score), 12);
    const flips = rows.filter((r) => (r.score ?? 0) < 0.5).length; // every clean answer is right
    expect(robustness!.flipRate).toBeCloseTo(flips / SIZE, 12);

    // Written just after the run closes (its view already says succeeded).
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, robust.runId));
    const summary = workbook.getWorksheet('Summary')!;
    let header: ExcelJS.Row | undefined;
    let detail: ExcelJS.Row | undefined;
    summary.eachRow((row) => {
      if (row.getCell(1).value === 'Dataset' && row.getCell(4).value === 'Clean accuracy') header = row;
      else if (header && !detail && row.getCell(1).value === dataset) detail = row;
    });
    expect(header, 'robustness table in the summary').toBeDefined();
    expect(detail!.getCell(4).value).toBeCloseTo(robustness!.cleanAccuracy, 12);
    expect(detail!.getCell(5).value).toBeCloseTo(robustness!.perturbedAccuracy, 12);
    expect(detail!.getCell(7).value).toBeCloseTo(robustness!.flipRate, 12);

    if (RECORD_HISTORIES) {
      const temporal = await temporalClient();
      await recordHistoryFixture(
        temporal.client,
        'dataset-robustness',
        workflowIds.dataset(robust.runId, dataset),
        WORKFLOW_TYPES.dataset,
      );
      await temporal.close();
    }
  }, 240_000);
});
