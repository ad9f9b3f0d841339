import { describe, expect, it } from 'vitest';
import { datasetEstimate, runEstimate } from '../../api/views/runEstimate';
import type { VerifiedDataset } from '../../db/queries/runEstimate';

const verified = (over: Partial<VerifiedDataset> = {}): VerifiedDataset => ({
  datasetId: 'd1',
  latencyMs: { n: 4, mean: 200, sd: 40 },
  promptTokens: { n: 4, mean: 50, sd: 10 },
  completionTokens: { n: 4, mean: 20, sd: 4 },
  wallMs: 1000,
  concurrency: 4,
  ...over,
});

describe('datasetEstimate', () => {
  it('scales the means to every item, with two standard errors either side', () => {
    const e = datasetEstimate(verified(), 100, 10, null);
    // se = sd / √n = 10 / 2 = 5 → 100 × (50 ± 10).
    expect(e.promptTokens).toEqual({ expected: 5000, low: 4000, high: 6000 });
    expect(e.completionTokens).toEqual({ expected: 2000, low: 1600, high: 2400 });
    expect(e.cost).toBeNull();
    expect(e.sampled).toBe(4);
    expect(e.items).toBe(100);
  });

  it("adds the verification's fixed cost to the items' time at the run's concurrency", () => {
    // Samples took 4 × 200 ms / 4 lanes = 200 ms of a 1,000 ms dataset: 0.8 s fixed.
    // 100 items × 200 ms / 10 lanes = 2 s; se 20 ms → ± 0.4 s.
    const e = datasetEstimate(verified(), 100, 10, null);
    expect(e.seconds.expected).toBeCloseTo(2.8, 9);
    expect(e.seconds.low).toBeCloseTo(2.4, 9);
    expect(e.seconds.high).toBeCloseTo(3.2, 9);
  });

  it('uses no more lanes than items, and no fixed cost without a wall time', () => {
    const e = datasetEstimate(verified({ wallMs: null }), 5, 64, null);
    expect(e.seconds.expected).toBeCloseTo((5 * 200) / 5 / 1000, 9);
  });

  it('prices the token ranges', () => {
    const e = datasetEstimate(verified(), 100, 10, { inputPerMillion: 1_000, outputPerMillion: 2_000 });
    expect(e.cost!.expected).toBeCloseTo(5000 * 0.001 + 2000 * 0.002, 9);
    expect(e.cost!.low).toBeCloseTo(4000 * 0.001 + 1600 * 0.002, 9);
    expect(e.cost!.high).toBeCloseTo(6000 * 0.001 + 2400 * 0.002, 9);
  });

  it('gives one sample a range of zero to three times its value, never below zero', () => {
    const one = { n: 1, mean: 30, sd: null };
    const e = datasetEstimate(verified({ promptTokens: one, completionTokens: one, latencyMs: one }), 10, 1, null);
    expect(e.promptTokens).toEqual({ expected: 300, low: 0, high: 900 });
  });
});

describe('runEstimate', () => {
  it('adds the datasets up and lists the ones the verification did not answer', () => {
    const e = runEstimate({
      evaluationId: '00000000-0000-4000-8000-000000000000',
      basedOnRun: null,
      datasetIds: ['d1', 'd2', 'd3'],
      sizes: new Map([
        ['d1', 100],
        ['d2', 50],
        ['d3', 10],
      ]),
      verified: new Map([
        ['d1', verified()],
        ['d2', verified({ datasetId: 'd2' })],
      ]),
      maxConcurrency: 10,
      prices: { inputPerMillion: 1, outputPerMillion: 1, currency: 'USD' },
    });
    expect(e.missing).toEqual(['d3']);
    expect(e.datasets.map((d) => d.dataset)).toEqual(['d1', 'd2']);
    expect(e.total!.promptTokens).toEqual({ expected: 7500, low: 6000, high: 9000 });
    expect(e.currency).toBe('USD');
    expect(e.total!.cost!.expected).toBeCloseTo((7500 + 3000) / 1e6, 12);
  });

  it('has no total without a verification', () => {
    const e = runEstimate({
      evaluationId: '00000000-0000-4000-8000-000000000000',
      basedOnRun: null,
      datasetIds: ['d1'],
      sizes: new Map(),
      verified: new Map(),
      maxConcurrency: 10,
      prices: null,
    });
    expect(e.total).toBeNull();
    expect(e.missing).toEqual(['d1']);
  });
});
