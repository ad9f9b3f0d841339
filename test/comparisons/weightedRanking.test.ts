/** The weighted ranking's formula, ties and refusals, on made-up dataset scores. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rankModels, weightRefusals, type ModelScores } from '../../scoring/weightedRanking';
import { overallScore, taskScores } from '../../scoring/scoreAggregation';
import type { RunStatus } from '../../contracts/run';

const DATASETS = [
  { dataset: 'sum', task: 'arithmetic', metric: 'exact_match' as const },
  { dataset: 'product', task: 'arithmetic', metric: 'exact_match' as const },
  { dataset: 'choice', task: 'reasoning', metric: 'mc_accuracy' as const },
];

function model(
  position: number,
  scores: (number | null)[],
  statuses: RunStatus[] = scores.map((s) => (s === null ? 'failed' : 'succeeded')),
): ModelScores {
  return {
    position,
    evaluationId: `e${position}`,
    modelName: `m${position}`,
    runId: `r${position}`,
    status: 'succeeded',
    datasets: DATASETS.map((d, i) => ({ ...d, status: statuses[i]!, score: scores[i]! })),
  };
}

describe('rankModels', () => {
  it('weights each task equally by default, so the score is the run overall score', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), (scores) => {
        const [ranked] = rankModels([model(0, scores)], {});
        const expected = overallScore(
          taskScores(
            DATASETS.map((d, i) => ({
              task: d.task,
              status: 'succeeded' as const,
              metrics: { score: scores[i]! } as never,
            })),
          ),
        );
        expect(ranked!.weightedScore).toBeCloseTo(expected!, 12);
        expect(ranked!.datasets.map((d) => d.weight)).toEqual([0.25, 0.25, 0.5]);
      }),
    );
  });

  it('multiplies dataset and metric weights and normalises them', () => {
    const [ranked] = rankModels([model(0, [1, 0, 0.5])], { datasets: { sum: 3 }, metrics: { mc_accuracy: 0.5 } });
    // W = 3/2, 1/2, 0.5 × 1 → shares 0.6, 0.2, 0.2.
    expect(ranked!.datasets.map((d) => d.weight)).toEqual([0.6, 0.2, 0.2]);
    expect(ranked!.weightedScore).toBeCloseTo(0.6 + 0.1, 12);
  });

  it('counts a dataset that did not succeed as 0 and says when a score is final', () => {
    const [failed] = rankModels([model(0, [1, null, 1])], {});
    expect(failed!.weightedScore).toBeCloseTo(0.75, 12);
    expect(failed!.complete).toBe(true);
    const [running] = rankModels([model(0, [1, null, null], ['succeeded', 'running', 'queued'])], {});
    expect(running!.weightedScore).toBeCloseTo(0.25, 12);
    expect(running!.complete).toBe(false);
    // A dataset of weight 0 still running does not keep the score open.
    const [weighted] = rankModels([model(0, [1, 1, null], ['succeeded', 'succeeded', 'running'])], {
      datasets: { choice: 0 },
    });
    expect(weighted!.complete).toBe(true);
    expect(weighted!.weightedScore).toBe(1);
  });

  it('ranks best first, ties sharing a rank in model order', () => {
    const ranked = rankModels(
      [model(0, [0.5, 0.5, 0.5]), model(1, [1, 1, 1]), model(2, [0.5, 0.5, 0.5]), model(3, [0, 0, 0])],
      {},
    );
    expect(ranked.map((m) => [m.position, m.rank])).toEqual([
      [1, 1],
      [0, 2],
      [2, 2],
      [3, 4],
    ]);
  });

  it('reorders models when the weights favour another dataset', () => {
    const models = [model(0, [1, 1, 0]), model(1, [0, 0, 1])];
    expect(rankModels(models, { metrics: { mc_accuracy: 0 } }).map((m) => m.position)).toEqual([0, 1]);
    expect(rankModels(models, { metrics: { exact_match: 0 } }).map((m) => m.position)).toEqual([1, 0]);
  });
});

describe('weightRefusals', () => {
  const models = [model(0, [1, 1, 1])];
  it('accepts weights of the comparison datasets and metrics', () => {
    expect(weightRefusals({ datasets: { sum: 2, choice: 0 }, metrics: { exact_match: 1.5 } }, models)).toEqual([]);
  });
  it('names each unknown or invalid weight', () => {
    expect(
      weightRefusals(
        {
          datasets: { nope: 1, sum: -1, product: Number.POSITIVE_INFINITY },
          metrics: { bleu: 1, exact_match: Number.NaN },
        },
        models,
      ),
    ).toEqual([
      { field: 'weights.datasets.nope', message: expect.stringContaining("is not one of the comparison's datasets") },
      { field: 'weights.datasets.sum', message: 'must be a non-negative finite number' },
      { field: 'weights.datasets.product', message: 'must be a non-negative finite number' },
      { field: 'weights.metrics.bleu', message: expect.stringContaining('is not a metric') },
      { field: 'weights.metrics.exact_match', message: 'must be a non-negative finite number' },
    ]);
  });
  it('refuses weights that leave nothing to score', () => {
    expect(weightRefusals({ datasets: { choice: 0 }, metrics: { exact_match: 0 } }, models)).toEqual([
      { field: 'weights', message: expect.stringContaining('at least one dataset a positive weight') },
    ]);
  });
});
