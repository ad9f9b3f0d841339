/**
 * The overall ranking of a comparison's models: each model's weighted score is a weighted mean of
 * its dataset scores,
 *
 *   score(model) = Σ_d W_d · s_d / Σ_d W_d,   W_d = w_dataset(d) · w_metric(metric(d)) / n_task(d)
 *
 * where s_d is the dataset's stored score (contracts/scoreAggregation.ts reads the same number),
 * w_dataset and w_metric are the owner's weights (1 when not given), and n_task(d) is how many of
 * the comparison's datasets share d's task. The 1/n_task factor makes the default weights give
 * every task the same say, so with no weights and every dataset succeeded the weighted score is
 * exactly the run's overall score (the mean of task means, overallScore(taskScores(…))).
 *
 * A dataset that has not succeeded counts as 0 with its full weight: the run's own overall score
 * leaves failed datasets out, but a ranking cannot, or a model whose hardest dataset failed would
 * climb over one that answered it. While datasets still run, their 0 makes the score a lower bound
 * that only grows; `complete` says when it is final.
 *
 * A dataset's metric is the one that scored it (a model's scoring configuration may score a
 * dataset differently from another model's), so a metric weight acts per model; each model's
 * weights are normalised on their own.
 */
import type { RankedDataset, RankedModel, RankingWeights } from '../contracts/comparison';
import type { FieldError } from '../contracts/problem';
import type { RunStatus } from '../contracts/run';
import { TERMINAL_STATUSES } from '../contracts/run';
import type { DatasetScorer } from '../contracts/scoringConfig';

export interface ModelDatasetScore {
  dataset: string;
  task: string;
  metric: DatasetScorer;
  status: RunStatus;
  /** The stored score of a dataset that succeeded; null otherwise. */
  score: number | null;
  /** A dataset evaluated by a custom image: every metric its metrics.json reported (score is the primary one). */
  customMetrics?: { name: string; value: number }[];
}

export interface ModelScores {
  position: number;
  evaluationId: string;
  modelName: string;
  runId: string;
  status: RunStatus;
  /** In the comparison's dataset order; every model has the same datasets. */
  datasets: ModelDatasetScore[];
}

/** Weighted scores closer than this are a tie: sums in another order must not reorder models. */
const TIE = 1e-12;

/**
 * What is wrong with the weights for these models, field by field: negative or non-finite values,
 * datasets outside the comparison, metrics none of its datasets is scored by, and weights that
 * leave a model nothing to be scored on. `field` is the prefix of the fields named ('weights').
 */
export function weightRefusals(
  weights: RankingWeights,
  models: readonly ModelScores[],
  field = 'weights',
): FieldError[] {
  const errors: FieldError[] = [];
  const datasetIds = models[0]?.datasets.map((d) => d.dataset) ?? [];
  const metrics = [...new Set(models.flatMap((m) => m.datasets.map((d) => d.metric)))];
  const check = (kind: 'datasets' | 'metrics', known: readonly string[], noun: string) => {
    for (const [name, value] of Object.entries(weights[kind] ?? {})) {
      const at = `${field}.${kind}.${name}`;
      if (!known.includes(name)) errors.push({ field: at, message: `is not ${noun} (${known.join(', ')})` });
      else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
        errors.push({ field: at, message: 'must be a non-negative finite number' });
    }
  };
  check('datasets', datasetIds, "one of the comparison's datasets");
  check('metrics', metrics, "a metric that scores one of the comparison's datasets");
  if (errors.length > 0) return errors;
  for (const model of models) {
    if (datasetWeights(model, weights).every((w) => w === 0)) {
      errors.push({
        field,
        message: `must give at least one dataset a positive weight; these give ${model.modelName} none`,
      });
      break;
    }
  }
  return errors;
}

/** The models ranked by weighted score, best first; the weights must have passed weightRefusals. */
export function rankModels(models: readonly ModelScores[], weights: RankingWeights): RankedModel[] {
  const scored = models.map((model) => {
    const raw = datasetWeights(model, weights);
    const sum = raw.reduce((a, w) => a + w, 0);
    const datasets: RankedDataset[] = model.datasets.map((d, i) => ({ ...d, weight: raw[i]! / sum }));
    const weightedScore = datasets.reduce(
      (a, d) => a + d.weight * (d.status === 'succeeded' && d.score !== null ? d.score : 0),
      0,
    );
    const complete = datasets.every((d) => d.weight === 0 || TERMINAL_STATUSES.includes(d.status));
    return { model, datasets, weightedScore, complete };
  });
  scored.sort((a, b) =>
    Math.abs(a.weightedScore - b.weightedScore) <= TIE
      ? a.model.position - b.model.position
      : b.weightedScore - a.weightedScore,
  );
  return scored.map(({ model, datasets, weightedScore, complete }) => ({
    rank: 1 + scored.filter((other) => other.weightedScore - weightedScore > TIE).length,
    position: model.position,
    evaluationId: model.evaluationId,
    modelName: model.modelName,
    runId: model.runId,
    status: model.status,
    weightedScore,
    complete,
    datasets,
  }));
}

/** W_d of each of the model's datasets, unnormalised. */
function datasetWeights(model: ModelScores, weights: RankingWeights): number[] {
  const perTask = new Map<string, number>();
  for (const d of model.datasets) perTask.set(d.task, (perTask.get(d.task) ?? 0) + 1);
  return model.datasets.map(
    (d) => ((weights.datasets?.[d.dataset] ?? 1) * (weights.metrics?.[d.metric] ?? 1)) / perTask.get(d.task)!,
  );
}
