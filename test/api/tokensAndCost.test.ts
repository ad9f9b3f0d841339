/**
 * Tokens, cost, the verification's estimate and model-change warnings, through the HTTP API with
 * real workers and the reference model: per-sample tokens as the endpoint reported them (or counted
 * when it reports none), totals in the run view equal to the sums of the samples, the cost at the
 * deployment's prices shown while the run goes, the Excel report's figures, the estimate against
 * the formal run it foretold, and one warning per change of the model answering.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { eq } from 'drizzle-orm';
import { datasets } from '../../db/schema';
import type { RunView, SampleResultView } from '../../contracts/run';
import type { RunEstimate } from '../../contracts/tokens';
import { approximateTokens } from '../../activities/inference/tokenCount';
import { insertArithmeticDataset, type FixtureDataset } from '../support/runFixtures';
import { nlpEvaluationBody } from '../support/evaluationBodies';
import { downloadRunReport } from '../support/runReport';
import { waitForRunEnd } from '../support/runThroughApi';
import { useTestStack } from '../support/testStack';

const LATENCY_MS = 150;
const stack = useTestStack({ api: true, workers: true, model: { skill: 1, latencyMs: LATENCY_MS } });

let key: string;
let small: FixtureDataset;
let large: FixtureDataset;

beforeAll(async () => {
  const user = await stack.api.createUser();
  key = user.apiKey;
  // Custom datasets are their owner's to use.
  const owned = async (size: number) => {
    const d = await insertArithmeticDataset(stack.api.deps.db, size);
    await stack.api.deps.db.update(datasets).set({ ownerId: user.id }).where(eq(datasets.id, d.id));
    return d;
  };
  small = await owned(24);
  large = await owned(40);
});

const PRICES = { inputPerMillion: 1500, outputPerMillion: 6000, currency: 'USD' };

async function createEvaluation(datasets: string[], deployment: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api.request('POST', '/v1/evaluations', {
    key,
    body: nlpEvaluationBody({
      datasets,
      deployment: {
        method: 'api',
        endpoint: stack.model.url,
        onlineModelName: 'proctor-reference',
        apiMode: 'chat',
        ...deployment,
      },
      limits: { maxConcurrency: 4 },
    }),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function launch(evaluationId: string, kind: 'runs' | 'verifications', body?: unknown): Promise<string> {
  const res = await stack.api.request('POST', `/v1/evaluations/${evaluationId}/${kind}`, { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.runId as string;
}

async function view(runId: string): Promise<RunView> {
  const res = await stack.api.request('GET', `/v1/runs/${runId}`, { key });
  expect(res.status).toBe(200);
  return res.body as RunView;
}

async function results(runId: string): Promise<SampleResultView[]> {
  const res = await fetch(`${stack.api.url}/v1/runs/${runId}/results.jsonl`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SampleResultView);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const cost = (prompt: number, completion: number) =>
  (prompt * PRICES.inputPerMillion + completion * PRICES.outputPerMillion) / 1_000_000;

describe('prices on the deployment', () => {
  it('refuses a negative price or an unknown price field with problem+json naming the field', async () => {
    for (const [prices, field] of [
      [{ inputPerMillion: -1, outputPerMillion: 1 }, 'deployment.prices.inputPerMillion'],
      [{ inputPerMillion: 1, outputPerMillion: 1, per: 'token' }, 'deployment.prices.per'],
      [{ inputPerMillion: 1 }, 'deployment.prices.outputPerMillion'],
    ] as const) {
      const res = await stack.api.request('POST', '/v1/evaluations', {
        key,
        body: nlpEvaluationBody({ deployment: { method: 'api', endpoint: stack.model.url, prices } }),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it('keeps the prices through creation and an edit', async () => {
    const id = await createEvaluation([small.id], { prices: PRICES });
    expect((await stack.api.request('GET', `/v1/evaluations/${id}`, { key })).body.deployment.prices).toEqual(PRICES);
    const edited = await stack.api.request('PATCH', `/v1/evaluations/${id}`, {
      key,
      body: {
        deployment: {
          method: 'api',
          endpoint: stack.model.url,
          onlineModelName: 'proctor-reference',
          prices: { inputPerMillion: 2, outputPerMillion: 3 },
        },
      },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.deployment.prices).toEqual({ inputPerMillion: 2, outputPerMillion: 3 });
    const refused = await stack.api.request('PATCH', `/v1/evaluations/${id}`, {
      key,
      body: {
        deployment: { method: 'api', endpoint: stack.model.url, prices: { inputPerMillion: 1, outputPerMillion: 2e9 } },
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toContain('deployment.prices.outputPerMillion');
  });
});

describe('tokens reported by the endpoint, cost, estimate and report', () => {
  it('stores tokens per sample, sums them per dataset and run, prices them as the run goes, and the verification foretells the formal run', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, latencyMs: LATENCY_MS });
    const evaluationId = await createEvaluation([small.id, large.id], { prices: PRICES });

    // Before any verification there is nothing to extrapolate from.
    const none = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/estimate`, { key });
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ basedOnRun: null, total: null, missing: [small.id, large.id] });

    const verificationId = await launch(evaluationId, 'verifications', { samplesPerDataset: 3, seed: 11 });
    const verification = await waitForRunEnd(stack.api, key, verificationId);
    expect(verification.status).toBe('succeeded');
    expect(verification.usage.samples).toBe(6);

    const estimated = await stack.api.request('GET', `/v1/evaluations/${evaluationId}/estimate`, { key });
    expect(estimated.status).toBe(200);
    const estimate = estimated.body as RunEstimate;
    expect(estimate.basedOnRun?.runId).toBe(verificationId);
    expect(estimate.missing).toEqual([]);
    expect(estimate.datasets.map((d) => [d.dataset, d.items, d.sampled])).toEqual([
      [small.id, 24, 3],
      [large.id, 40, 3],
    ]);
    expect(estimate.currency).toBe('USD');
    expect(estimate.method).toMatch(/standard error/);

    const runId = await launch(evaluationId, 'runs');
    // While it runs, the view shows the tokens and cost of what was answered so far.
    let during: RunView | null = null;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const v = await view(runId);
      if (v.status === 'running' && v.usage.samples > 0 && v.usage.samples < 64) {
        during = v;
        break;
      }
      if (v.status !== 'queued' && v.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(during, 'the run was never seen running with tokens').not.toBeNull();
    expect(during!.usage.cost).toBeCloseTo(cost(during!.usage.promptTokens, during!.usage.completionTokens), 9);

    const ended = await waitForRunEnd(stack.api, key, runId);
    expect(ended.status).toBe('succeeded');
    expect(ended.warnings).toEqual([]);
    const samples = await results(runId);
    expect(samples).toHaveLength(64);
    // The reference model reports usage, a word per token.
    for (const s of samples) {
      expect(s.tokensCounted).toBe(false);
      expect(s.promptTokens).toBe(s.sample.split(/\s+/).filter(Boolean).length);
      expect(s.outputLength).toBe(s.predict!.split(/\s+/).filter(Boolean).length);
    }
    for (const d of ended.datasets) {
      const mine = samples.filter((s) => s.dataset === d.dataset);
      expect(d.usage).toEqual({
        promptTokens: sum(mine.map((s) => s.promptTokens)),
        completionTokens: sum(mine.map((s) => s.outputLength)),
        samples: mine.length,
        countedSamples: 0,
        cost: expect.any(Number),
        currency: 'USD',
      });
      expect(d.usage.cost).toBeCloseTo(cost(d.usage.promptTokens, d.usage.completionTokens), 9);
      expect(d.judgeUsage).toBeNull();
    }
    expect(ended.usage.promptTokens).toBe(sum(samples.map((s) => s.promptTokens)));
    expect(ended.usage.completionTokens).toBe(sum(samples.map((s) => s.outputLength)));
    expect(ended.usage.cost).toBeCloseTo(cost(ended.usage.promptTokens, ended.usage.completionTokens), 9);

    // The estimate against what the formal run measured: tokens within 10 % (every prompt here has
    // the same length, so three samples say it all), its time within a factor of 3 either way.
    const total = estimate.total!;
    expect(ended.usage.promptTokens).toBeGreaterThanOrEqual(total.promptTokens.expected / 1.1);
    expect(ended.usage.promptTokens).toBeLessThanOrEqual(total.promptTokens.expected * 1.1);
    expect(ended.usage.completionTokens).toBeGreaterThanOrEqual(total.completionTokens.expected / 1.5);
    expect(ended.usage.completionTokens).toBeLessThanOrEqual(total.completionTokens.expected * 1.5);
    expect(total.cost!.expected).toBeCloseTo(cost(total.promptTokens.expected, total.completionTokens.expected), 9);
    const measuredSeconds = sum(ended.datasets.map((d) => (Date.parse(d.endedAt!) - Date.parse(d.startedAt!)) / 1000));
    expect(measuredSeconds).toBeGreaterThan(total.seconds.expected / 3);
    expect(measuredSeconds).toBeLessThan(total.seconds.expected * 3);

    // The report: three token columns on every sample row, and the totals under the Summary.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await downloadRunReport(stack.api.url, key, runId));
    const details = workbook.getWorksheet('Details')!;
    expect([13, 14, 15].map((c) => details.getRow(1).getCell(c).value)).toEqual([
      'Prompt tokens',
      'Completion tokens',
      'Tokens',
    ]);
    let reportPrompt = 0;
    let reportCompletion = 0;
    for (let r = 2; r <= details.rowCount; r++) {
      reportPrompt += Number(details.getRow(r).getCell(13).value);
      reportCompletion += Number(details.getRow(r).getCell(14).value);
      expect(details.getRow(r).getCell(15).value).toBe('reported');
    }
    expect([reportPrompt, reportCompletion]).toEqual([ended.usage.promptTokens, ended.usage.completionTokens]);
    const summary = workbook.getWorksheet('Summary')!;
    let totalRow: ExcelJS.Row | null = null;
    let inUsage = false;
    summary.eachRow((row) => {
      if (row.getCell(1).value === 'Tokens and cost') inUsage = true;
      if (inUsage && row.getCell(1).value === 'Total') totalRow = row;
    });
    expect(totalRow, 'the Summary has a Tokens and cost total').not.toBeNull();
    const t = totalRow! as ExcelJS.Row;
    expect([2, 3, 4, 5].map((c) => t.getCell(c).value)).toEqual([
      64,
      ended.usage.promptTokens,
      ended.usage.completionTokens,
      0,
    ]);
    expect(Number(t.getCell(6).value)).toBeCloseTo(ended.usage.cost!, 9);

    // The comparison of the formal run against its verification: each side's tokens on the shared samples.
    const compared = await stack.api.request(
      'GET',
      `/v1/runs/${runId}/comparison?against=${verificationId}&dataset=${large.id}`,
      { key },
    );
    expect(compared.status, JSON.stringify(compared.body)).toBe(200);
    const shared = compared.body.items as { run: { promptTokens: number }; reference: { promptTokens: number } }[];
    expect(shared).toHaveLength(3);
    expect(compared.body.counts.tokens.run.promptTokens).toBe(sum(shared.map((s) => s.run.promptTokens)));
    expect(compared.body.counts.tokens.reference.promptTokens).toBe(sum(shared.map((s) => s.reference.promptTokens)));
  });
});

describe('tokens counted when the endpoint reports none', () => {
  it('counts every sample with the approximation, marks it counted, and gives no cost without prices', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({ skill: 1, reportUsage: false });
    try {
      const evaluationId = await createEvaluation([small.id]);
      const runId = await launch(evaluationId, 'verifications', { samplesPerDataset: 3, seed: 5 });
      const ended = await waitForRunEnd(stack.api, key, runId);
      expect(ended.status).toBe('succeeded');
      const samples = await results(runId);
      expect(samples).toHaveLength(3);
      for (const s of samples) {
        expect(s.tokensCounted).toBe(true);
        expect(s.promptTokens).toBe(approximateTokens(s.sample));
        expect(s.outputLength).toBe(approximateTokens(s.predict!));
      }
      expect(ended.usage).toEqual({
        promptTokens: sum(samples.map((s) => s.promptTokens)),
        completionTokens: sum(samples.map((s) => s.outputLength)),
        samples: 3,
        countedSamples: 3,
        cost: null,
        currency: null,
      });
    } finally {
      stack.model.resetKnobs();
      stack.model.setKnobs({ skill: 1, latencyMs: LATENCY_MS });
    }
  });
});

describe('a model changing under a run', () => {
  it('warns once in the run view and once in the logs when the answers say another model and fingerprint', async () => {
    stack.model.resetKnobs();
    stack.model.setKnobs({
      skill: 1,
      latencyMs: 20,
      systemFingerprint: 'fp_old',
      switchAfterRequests: stack.model.stats().requests + 8,
      switchedModel: 'proctor-reference-2',
      switchedFingerprint: 'fp_new',
    });
    try {
      const evaluationId = await createEvaluation([large.id]);
      // Not reused from the earlier formal run's result of the same dataset: asked again.
      const runId = await launch(evaluationId, 'runs', { reuse: false });
      const ended = await waitForRunEnd(stack.api, key, runId);
      expect(ended.status).toBe('succeeded');
      expect(ended.warnings).toEqual([
        {
          kind: 'model-changed',
          at: expect.any(String),
          message: expect.stringMatching(/answers now say "proctor-reference-2", system_fingerprint "fp_new"/),
          model: 'proctor-reference-2',
          systemFingerprint: 'fp_new',
          previousModel: 'proctor-reference',
          previousSystemFingerprint: 'fp_old',
        },
      ]);
      const logs = await stack.api.request('GET', `/v1/runs/${runId}/logs?limit=500`, { key });
      expect(logs.status).toBe(200);
      const warned = (logs.body.items as { level: string; message: string }[]).filter((l) =>
        l.message.includes('the model answering changed'),
      );
      expect(warned).toHaveLength(1);
      expect(warned[0]!.level).toBe('warn');
    } finally {
      stack.model.resetKnobs();
      stack.model.setKnobs({ skill: 1, latencyMs: LATENCY_MS });
    }
  });
});
