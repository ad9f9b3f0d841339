/**
 * The whole life of an evaluation through HTTP, against the reference model and real workers: an
 * admin creates a user, the user creates an evaluation over two built-in datasets, verifies it on
 * a few samples, launches a formal run and reads everything the run leaves: its view, every
 * result, its log, its Excel report and its JSON Lines export.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { ARITH_MC_ID } from '../../datasets/builtin/arithChoice';
import { WORD_REVERSE_ID } from '../../datasets/builtin/wordReverse';
import { and, eq } from 'drizzle-orm';
import type { DatasetMetrics, RunView, SampleResultView } from '../../contracts/run';
import { overallInterval, overallScore, taskScores, type ScoreInterval } from '../../scoring/scoreAggregation';
import { runDatasets } from '../../db/schema';
import { waitForRunEnd } from '../support/runThroughApi';
import { downloadRunReport } from '../support/runReport';
import { workflowIds } from '../../temporal.config';
import { useTestStack } from '../support/testStack';

const MODEL_API_KEY = `sk-lifecycle-${randomUUID()}`;

// A model that is right most of the time and now and then answers 500, so scores are neither 0
// nor 1 and some samples fail; with no retries those failures are recorded as they come.
const stack = useTestStack({
  api: true,
  workers: true,
  model: { skill: 0.8, errorRate: 0.02, errorStatus: 500, seed: 20261101, latencyMs: 0, requiredApiKey: MODEL_API_KEY },
});

const waitForEnd = (key: string, runId: string): Promise<RunView> => waitForRunEnd(stack.api, key, runId, 100_000);

/** Every result, page by page, asserting each page is no larger than asked. */
async function allResultPages(key: string, runId: string, limit: number): Promise<SampleResultView[]> {
  const items: SampleResultView[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await stack.api.request('GET', `/v1/runs/${runId}/results?${query}`, { key });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}

async function download(key: string, path: string): Promise<Response> {
  return fetch(`${stack.api.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
}

describe('evaluation life cycle through HTTP', () => {
  it('creates, verifies, evaluates and reports', async () => {
    const created = await stack.api.request('POST', '/v1/users', {
      key: stack.api.adminKey,
      body: {
        name: 'Ada Lovelace',
        organization: 'Analytical Engines',
        email: `ada-${randomUUID().slice(0, 8)}@example.test`,
        role: 'user',
      },
    });
    expect(created.status).toBe(201);
    const key: string = created.body.apiKey;

    const modelName = `life-${randomUUID().slice(0, 8)}`;
    const evaluation = await stack.api.request('POST', '/v1/evaluations', {
      key,
      body: {
        domain: 'nlp',
        modelName,
        datasets: [ARITH_MC_ID, WORD_REVERSE_ID],
        deployment: {
          method: 'api',
          endpoint: stack.model.url,
          onlineModelName: 'proctor-reference',
          apiKey: MODEL_API_KEY,
          apiMode: 'chat',
        },
        robustness: false,
        modelInfo: { type: 'sft' },
        acknowledgeNoTestAnnotations: true,
        limits: { maxConcurrency: 24, maxRetryPerQuery: 0 },
      },
    });
    expect(evaluation.status, JSON.stringify(evaluation.body)).toBe(201);
    const evaluationId: string = evaluation.body.id;

    // Verification: a few drawn samples per dataset, shown as ID / Dataset / Sample / Label / Predict.
    const verification = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/verifications`, {
      key,
      body: { seed: 1234 },
    });
    expect(verification.status).toBe(202);
    expect(verification.body).toMatchObject({ version: 1, type: 'verification', status: 'queued' });
    const verified = await waitForEnd(key, verification.body.runId);
    expect(verified.status).toBe('succeeded');
    expect(verified.sampleSeed).toBe(1234);
    expect(verified.datasets.map((d) => [d.dataset, d.status])).toEqual([
      [ARITH_MC_ID, 'succeeded'],
      [WORD_REVERSE_ID, 'succeeded'],
    ]);
    for (const d of verified.datasets) {
      expect(d.total).toBeGreaterThanOrEqual(1);
      expect(d.total).toBeLessThanOrEqual(3);
      expect(d.done).toBe(d.total);
    }
    const shown = await stack.api.request('GET', `/v1/runs/${verification.body.runId}/results`, { key });
    expect(shown.status).toBe(200);
    expect(shown.body.nextCursor).toBeNull();
    expect(shown.body.items).toHaveLength(verified.progress.total);
    for (const item of shown.body.items as SampleResultView[]) {
      expect(item.id).toMatch(/\S/);
      expect([ARITH_MC_ID, WORD_REVERSE_ID]).toContain(item.dataset);
      expect(item.sample).toMatch(/\S/);
      expect(item.label).toMatch(/\S/);
      if (item.status === 'scored') expect(item.predict).toMatch(/\S/);
    }

    // Formal run.
    const formal = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect(formal.status).toBe(202);
    expect(formal.body).toMatchObject({ version: 2, type: 'formal', status: 'queued' });
    const runId: string = formal.body.runId;
    const view = await waitForEnd(key, runId);
    expect(view.status).toBe('succeeded');
    expect(view.error).toBeNull();
    expect(view.sampleSeed).toBeNull();
    expect(view.submitter).toBe('Ada Lovelace');
    expect(view.datasets.map((d) => [d.position, d.dataset, d.task, d.status])).toEqual([
      [0, ARITH_MC_ID, 'arithmetic', 'succeeded'],
      [1, WORD_REVERSE_ID, 'string-manipulation', 'succeeded'],
    ]);
    const total = view.datasets.reduce((n, d) => n + d.total, 0);
    // An endpoint that never refused: the adaptive limit stayed at maxConcurrency (docs/rate-limits.md).
    expect(view.progress).toEqual({
      done: total,
      total,
      percent: 100,
      etaSeconds: null,
      traffic: expect.objectContaining({ rateLimited: 0, budgetWaitSeconds: 0 }),
    });
    expect(view.progress.traffic?.concurrencyLimit).toBe(view.progress.traffic?.maxConcurrency);

    // Every sample exactly once across pages, and the metrics agree with the results.
    const results = await allResultPages(key, runId, 97);
    expect(results).toHaveLength(total);
    expect(new Set(results.map((r) => `${r.dataset}/${r.id}`)).size).toBe(total);
    for (const d of view.datasets) {
      const mine = results.filter((r) => r.dataset === d.dataset);
      expect(mine).toHaveLength(d.total);
      const failed = mine.filter((r) => r.status === 'failed');
      const meanScore = mine.reduce((sum, r) => sum + (r.score ?? 0), 0) / mine.length;
      expect(d.failed).toBe(failed.length);
      expect(d.metrics).not.toBeNull();
      expect(d.metrics!.scored).toBe(mine.length - failed.length);
      expect(d.metrics!.failed).toBe(failed.length);
      expect(d.metrics!.score).toBeCloseTo(meanScore, 9);
      expect(failed.every((r) => r.predict === null && r.error)).toBe(true);
    }
    const scores = results.map((r) => r.score ?? 0);
    expect(scores.some((s) => s === 1)).toBe(true);
    expect(scores.some((s) => s === 0)).toBe(true);
    const expectedTasks = taskScores(
      view.datasets.map((d) => ({ task: d.task, status: d.status, metrics: d.metrics })),
    );
    expect(view.taskScores).toEqual(expectedTasks);
    expect(view.taskScores.map((t) => t.task).sort()).toEqual(['arithmetic', 'string-manipulation']);
    expect(view.overallScore).toBeCloseTo(overallScore(expectedTasks)!, 12);

    // Every score carries its 95% interval, which brackets it: right and wrong answers mix, so none is a point.
    const brackets = (score: number, ci95: ScoreInterval | null) => {
      expect(ci95).not.toBeNull();
      expect(ci95!.lower).toBeLessThan(score);
      expect(ci95!.upper).toBeGreaterThan(score);
    };
    for (const d of view.datasets) {
      brackets(d.metrics!.score, d.metrics!.ci95);
      expect(d.metrics!.standardError).toBeGreaterThan(0);
    }
    for (const t of view.taskScores) brackets(t.score, t.ci95);
    const overallCi95 = overallInterval(view.taskScores);
    brackets(view.overallScore!, overallCi95);

    // Filters narrow the same pages.
    const failedOnly = await stack.api.request('GET', `/v1/runs/${runId}/results?status=failed&limit=1000`, { key });
    expect(failedOnly.body.items).toHaveLength(results.filter((r) => r.status === 'failed').length);
    const secondDataset = await stack.api.request(
      'GET',
      `/v1/runs/${runId}/results?dataset=${WORD_REVERSE_ID}&limit=1000`,
      {
        key,
      },
    );
    expect(secondDataset.body.items.map((r: SampleResultView) => r.id)).toEqual(
      results.filter((r) => r.dataset === WORD_REVERSE_ID).map((r) => r.id),
    );

    // Log lines, read on with `next`.
    const logs = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=2`, { key });
    expect(logs.status).toBe(200);
    expect(logs.body.items).toHaveLength(2);
    const rest = await stack.api.request('GET', `/v1/runs/${runId}/logs?after=${logs.body.next}&limit=1000`, { key });
    const lines = [...logs.body.items, ...rest.body.items];
    expect(new Set(lines.map((l: { id: number }) => l.id)).size).toBe(lines.length);
    expect(lines.some((l: { message: string }) => /run succeeded/.test(l.message))).toBe(true);
    expect(lines.some((l: { dataset: string | null }) => l.dataset === WORD_REVERSE_ID)).toBe(true);

    // The Excel report, written just after the run closes.
    await downloadRunReport(stack.api.url, key, runId);
    const report = await download(key, `/v1/runs/${runId}/report.xlsx`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(report.headers.get('content-disposition')).toContain(`filename="${modelName}-v2.xlsx"`);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await report.arrayBuffer());
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Summary', 'Details']);
    // Its summary shows the same intervals as the API, beside each score.
    const summaryRows = new Map<string, unknown[]>();
    workbook.getWorksheet('Summary')!.eachRow((row) =>
      summaryRows.set(
        String(row.getCell(2).value),
        [7, 8, 9].map((c) => row.getCell(c).value),
      ),
    );
    expect(summaryRows.get('Dataset')).toEqual(['Score', '95% CI low', '95% CI high']);
    for (const d of view.datasets)
      expect(summaryRows.get(d.dataset)).toEqual([d.metrics!.score, d.metrics!.ci95!.lower, d.metrics!.ci95!.upper]);
    expect(summaryRows.get('average of 2 task(s)')).toEqual([
      view.overallScore,
      overallCi95!.lower,
      overallCi95!.upper,
    ]);
    const details = workbook.getWorksheet('Details')!;
    expect(details.actualRowCount).toBe(total + 1);
    expect(details.getRow(1).getCell(1).value).toBe('ID');

    // JSON Lines export: one line per sample.
    const jsonl = await download(key, `/v1/runs/${runId}/results.jsonl`);
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(jsonl.headers.get('content-disposition')).toMatch(/^attachment;/);
    const exported = (await jsonl.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SampleResultView);
    expect(exported).toHaveLength(total);
    expect(exported).toEqual(results);

    // The model's API key went nowhere but the endpoint: not into Temporal (histories, search
    // attributes: what the UI shows), not into run logs, results, the report or any response.
    const temporal = stack.api.deps.temporal;
    const workflowTexts: string[] = [];
    for (const workflowId of [
      workflowIds.run(runId),
      ...view.datasets.map((d) => workflowIds.dataset(runId, d.dataset)),
    ]) {
      const handle = temporal.workflow.getHandle(workflowId);
      workflowTexts.push(JSON.stringify(await handle.fetchHistory()), JSON.stringify((await handle.describe()).raw));
    }
    const cells: string[] = [];
    for (const sheet of workbook.worksheets)
      sheet.eachRow((row) => row.eachCell((cell) => cells.push(String(cell.value))));
    const everything = [
      ...workflowTexts,
      JSON.stringify(lines),
      JSON.stringify(exported),
      JSON.stringify(view),
      cells.join('\n'),
    ].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    expect(everything).not.toContain(MODEL_API_KEY);
    // The scan reads what it should: the histories name the run.
    expect(workflowTexts.every((text) => text.includes(runId))).toBe(true);

    // The versions, newest first, and the quota the formal run took.
    const versions = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/runs`, { key });
    expect(versions.status).toBe(200);
    expect(
      versions.body.items.map((v: { version: number; type: string; status: string; submitter: string }) => [
        v.version,
        v.type,
        v.status,
        v.submitter,
      ]),
    ).toEqual([
      [2, 'formal', 'succeeded', 'Ada Lovelace'],
      [1, 'verification', 'succeeded', 'Ada Lovelace'],
    ]);
    expect(versions.body.items[0].overallScore).toBe(view.overallScore);
    const me = await stack.api.request('GET', '/v1/me', { key });
    expect(me.body.quota.formal).toEqual({ used: 1, limit: 5 });

    // A run whose datasets closed before intervals existed still serves, with null intervals.
    const verificationId: string = verification.body.runId;
    for (const d of verified.datasets) {
      const { ci95: _ci95, standardError: _standardError, ...legacy } = d.metrics!;
      await stack.api.deps.db
        .update(runDatasets)
        .set({ metrics: legacy as DatasetMetrics })
        .where(and(eq(runDatasets.runId, verificationId), eq(runDatasets.datasetId, d.dataset)));
    }
    const old = await stack.api.request('GET', `/v1/runs/${verificationId}`, { key });
    expect(old.status).toBe(200);
    const oldView = old.body as RunView;
    expect(oldView.datasets.map((d) => [d.metrics!.score, d.metrics!.ci95, d.metrics!.standardError])).toEqual(
      verified.datasets.map((d) => [d.metrics!.score, null, null]),
    );
    expect(oldView.taskScores.map((t) => [t.score, t.ci95, t.standardError])).toEqual(
      verified.taskScores.map((t) => [t.score, null, null]),
    );
  });
});
