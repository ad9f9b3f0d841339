import { beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { runArtifacts, runDatasets, runLogs, runs, sampleResults } from '../../db/schema';
import { SEARCH_ATTRIBUTES, workflowIds } from '../../temporal.config';
import { stopSignal } from '../../contracts/workflow';
import { sealSecret } from '../../db/secretBox';
import { insertArithmeticDataset, insertRun, insertUser } from '../support/runFixtures';
import { computeDatasetMetrics } from '../../db/queries/runRecords';
import { requireEnv } from '../support/env';
import { startRunByHand } from '../support/workflowStarts';
import { useTestStack } from '../support/testStack';

const stack = useTestStack({ db: true, temporal: true, workers: true, model: { skill: 1 } });
let ownerId: string;

beforeAll(async () => {
  ownerId = await insertUser(stack.db);
});

async function launch(runId: string) {
  return startRunByHand(stack.temporal, runId);
}

async function runRow(runId: string) {
  const [row] = await stack.db.select().from(runs).where(eq(runs.id, runId));
  return row!;
}

describe('run workflow', () => {
  it('evaluates datasets one after another, scores every sample once and writes the report', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1 });
    const a = await insertArithmeticDataset(stack.db, 60, 'arithmetic');
    const b = await insertArithmeticDataset(stack.db, 45, 'sums');
    const secret = 'sk-test-never-in-history-12345';
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [a, b],
      apiKeyCipher: sealSecret(Buffer.from(requireEnv('PROCTOR_SECRET_KEY'), 'base64'), secret),
      batching: { samplesPerBatch: 20, batchesPerExecution: 2 },
    });
    stack.model.setKnobs({ requiredApiKey: secret });
    const wf = await launch(runId);
    const result = await wf.result();

    expect(result.status).toBe('succeeded');
    expect(result.overallScore).toBe(1);
    const run = await runRow(runId);
    expect(run.status).toBe('succeeded');
    // Every sample right: each interval is the point 1 (all the bootstrap can see).
    const certain = { ci95: { lower: 1, upper: 1 }, standardError: 0 };
    expect(run.taskScores).toEqual(
      expect.arrayContaining([
        { task: 'arithmetic', score: 1, datasets: 1, ...certain },
        { task: 'sums', score: 1, datasets: 1, ...certain },
      ]),
    );

    const dsRows = await stack.db
      .select()
      .from(runDatasets)
      .where(eq(runDatasets.runId, runId))
      .orderBy(runDatasets.position);
    expect(dsRows.map((d) => [d.status, d.done, d.failed])).toEqual([
      ['succeeded', 60, 0],
      ['succeeded', 45, 0],
    ]);
    for (const d of dsRows) expect(d.metrics).toMatchObject({ score: 1, ...certain });
    // Serial: the second dataset started only after the first ended.
    expect(dsRows[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(dsRows[0]!.endedAt!.getTime());

    const stored = await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId));
    expect(stored).toHaveLength(105);
    expect(stored.every((r) => r.status === 'scored' && r.score === 1)).toBe(true);

    const [report] = await stack.db
      .select()
      .from(runArtifacts)
      .where(and(eq(runArtifacts.runId, runId), eq(runArtifacts.kind, 'report.xlsx')));
    expect(report!.content.subarray(0, 2).toString()).toBe('PK');

    // History: no per-sample data, no secret; continue-as-new kept executions short.
    const history = JSON.stringify(await stack.temporal.workflow.getHandle(workflowIds.run(runId)).fetchHistory());
    expect(history).not.toContain(secret);
    expect(history).not.toContain('Reply with the number only');
    const child = stack.temporal.workflow.getHandle(workflowIds.dataset(runId, a.id));
    const childHistory = JSON.stringify(await child.fetchHistory());
    expect(childHistory).not.toContain(secret);
    expect(childHistory).not.toContain('Reply with the number only');
    const description = await child.describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId ?? description.runId);

    const attrs = (await wf.describe()).typedSearchAttributes;
    expect(attrs.getAll().find((p) => p.key.name === SEARCH_ATTRIBUTES.status)?.value).toBe('succeeded');
  });

  it('records failing samples with their reason and carries on', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, errorRate: 0.3, errorStatus: 500, seed: 11 });
    const ds = await insertArithmeticDataset(stack.db, 80);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [ds],
      limits: { maxRetryPerQuery: 0, maxConcurrency: 8 },
    });
    const result = await (await launch(runId)).result();
    expect(result.status).toBe('succeeded');
    const stored = await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId));
    expect(stored).toHaveLength(80);
    const failed = stored.filter((r) => r.status === 'failed');
    expect(failed.length).toBeGreaterThan(5);
    expect(failed.length).toBeLessThan(60);
    expect(failed[0]!.error).toMatch(/500/);
    const [row] = await stack.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
    expect(row!.failed).toBe(failed.length);
    expect(row!.metrics!.score).toBeCloseTo((80 - failed.length) / 80, 6);
    // The interval brackets the score, and computing it again (a retried activity) gives the same one.
    const { score, ci95, standardError } = row!.metrics!;
    expect(ci95!.lower).toBeLessThan(score);
    expect(ci95!.upper).toBeGreaterThan(score);
    expect(standardError).toBeGreaterThan(0);
    expect(await computeDatasetMetrics(stack.db, runId, ds.id, 'exact_match')).toEqual(row!.metrics);
    const logs = await stack.db.select().from(runLogs).where(eq(runLogs.runId, runId));
    expect(logs.some((l) => l.level === 'warn' && /failed after 1 attempt/.test(l.message))).toBe(true);
  });

  it('retries a failing request with back-off until it succeeds', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, failFirstAttempts: 2, errorStatus: 503 });
    const ds = await insertArithmeticDataset(stack.db, 12);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [ds],
      limits: { maxRetryPerQuery: 3 },
    });
    const result = await (await launch(runId)).result();
    expect(result.status).toBe('succeeded');
    const stored = await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId));
    expect(stored.every((r) => r.status === 'scored' && r.attempts === 3)).toBe(true);
  });

  it('fails a dataset whose endpoint is down with a readable reason, not the whole machinery', async () => {
    const ds = await insertArithmeticDataset(stack.db, 300);
    // A verification: a formal run would stop at its readiness wait before any dataset (test/api/endpointReadiness.test.ts).
    const runId = await insertRun(stack.db, {
      ownerId,
      type: 'verification',
      endpoint: 'http://127.0.0.1:9/v1',
      datasets: [ds],
      limits: { maxRetryPerQuery: 1 },
    });
    const result = await (await launch(runId)).result();
    expect(result.status).toBe('failed');
    const [row] = await stack.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
    expect(row!.status).toBe('failed');
    expect(row!.error).toMatch(/endpoint unusable|connection/i);
    // The breaker ends the dataset long before all 300 samples were tried; the rest are failed
    // rows that say they were never asked, so every sample is still accounted for once.
    expect([row!.done, row!.failed]).toEqual([300, 300]);
    const stored = await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId));
    const asked = stored.filter((r) => r.attempts > 0);
    expect(asked.length).toBeLessThan(100);
    expect(stored.filter((r) => r.attempts === 0).every((r) => r.error === `not attempted: ${row!.error}`)).toBe(true);
  });

  it('stops promptly: in-flight requests are abandoned and statuses become stopped', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, latencyMs: 300 });
    const a = await insertArithmeticDataset(stack.db, 400);
    const b = await insertArithmeticDataset(stack.db, 50);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [a, b],
      limits: { maxConcurrency: 4 },
    });
    const wf = await launch(runId);
    await waitFor(
      async () => (await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId))).length >= 8,
    );
    const stoppedAt = Date.now();
    await wf.signal(stopSignal, { requestedBy: 'test' });
    const result = await wf.result();
    const elapsed = Date.now() - stoppedAt;
    expect(result.status).toBe('stopped');
    expect(elapsed).toBeLessThan(10_000);
    const rows = await stack.db
      .select()
      .from(runDatasets)
      .where(eq(runDatasets.runId, runId))
      .orderBy(runDatasets.position);
    expect(rows.map((r) => r.status)).toEqual(['stopped', 'stopped']);
    const countAtEnd = rows[0]!.done;
    expect(countAtEnd).toBeLessThan(400);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId));
    expect(after.length).toBe(countAtEnd);
    const run = await runRow(runId);
    expect(run.status).toBe('stopped');
    expect(run.error).toMatch(/stopped by test/);
  });

  it('takes a cancel of the run workflow (Cancel in the Temporal UI) as a stop that reaches the dataset in flight', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, latencyMs: 300 });
    const a = await insertArithmeticDataset(stack.db, 400);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [a],
      limits: { maxConcurrency: 4 },
    });
    const wf = await launch(runId);
    await waitFor(
      async () => (await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId))).length >= 8,
    );
    await wf.cancel();
    // The run still closes itself: scores, report and statuses, then the workflow completes.
    const result = await wf.result();
    expect(result.status).toBe('stopped');
    const child = await stack.temporal.workflow.getHandle(workflowIds.dataset(runId, a.id)).describe();
    expect(child.status.name).toBe('CANCELLED');
    const [dataset] = await stack.db.select().from(runDatasets).where(eq(runDatasets.runId, runId));
    expect(dataset!.status).toBe('stopped');
    expect(dataset!.done).toBeLessThan(400);
    const run = await runRow(runId);
    expect(run.status).toBe('stopped');
    expect(run.error).toBe('stopped by temporal: workflow cancelled');
  });

  it('runs a verification over the drawn samples only', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1 });
    const ds = await insertArithmeticDataset(stack.db, 100);
    const runId = await insertRun(stack.db, {
      ownerId,
      endpoint: stack.model.url,
      datasets: [ds],
      type: 'verification',
      sampleIndices: [3, 41, 97],
    });
    const result = await (await launch(runId)).result();
    expect(result.status).toBe('succeeded');
    const stored = await stack.db.select().from(sampleResults).where(eq(sampleResults.runId, runId));
    expect(stored.map((r) => r.sampleIdx).sort((x, y) => x - y)).toEqual([3, 41, 97]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
