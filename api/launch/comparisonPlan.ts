/**
 * What a comparison's launch checks before it writes anything: the models named (each an
 * evaluation of the caller's, none twice, one domain, each holding every dataset named), each
 * model's run planned as a formal launch of those datasets, and the ranking weights against the
 * plan. Every refusal names its field.
 */
import type { Caller } from '../../contracts/caller';
import type { CreateComparisonBody } from '../../contracts/comparison';
import type { FieldError } from '../../contracts/problem';
import { HttpProblem, statusTitle } from '../http/problems';
import { evaluationsByIds } from '../../db/queries/evaluations';
import type { EvaluationRow, LaunchRequest } from '../../db/queries/runLaunch';
import { isUuid } from '../../db/queries/runViews';
import { weightRefusals, type ModelScores } from '../../scoring/weightedRanking';
import { planRun, type PlanDeps } from './launchPlan';

export interface ComparisonPlan {
  /** The body's evaluations, in its order. */
  models: EvaluationRow[];
  /** One formal launch per model, in the same order. */
  launches: LaunchRequest[];
}

export async function planComparison(
  deps: PlanDeps,
  caller: Caller,
  body: CreateComparisonBody,
  month: string,
): Promise<ComparisonPlan> {
  const models = await checkedEvaluations(deps, caller, body);
  const launches: LaunchRequest[] = [];
  // As a formal launch without a body: a dataset with an identical earlier result reuses it.
  for (const evaluation of models)
    launches.push(await planRun(deps, caller, evaluation, { type: 'formal' }, { month, datasetIds: body.datasets }));
  refuseWeights(weightRefusals(body.weights ?? {}, launches.map(unscored(models))));
  return { models, launches };
}

/** A planned model as the ranking sees it before anything ran: every dataset queued, unscored. */
const unscored =
  (models: readonly EvaluationRow[]) =>
  (launch: LaunchRequest, position: number): ModelScores => ({
    position,
    evaluationId: launch.evaluationId,
    modelName: models[position]!.modelName,
    runId: '',
    status: 'queued',
    datasets: launch.datasets.map((d) => ({
      dataset: d.datasetId,
      task: d.task,
      metric: d.metric,
      status: 'queued',
      score: null,
    })),
  });

/** The body's evaluations, in its order: each the caller's, none twice, one domain, each holding every dataset named. */
async function checkedEvaluations(
  deps: PlanDeps,
  caller: Caller,
  body: CreateComparisonBody,
): Promise<EvaluationRow[]> {
  const errors: FieldError[] = [];
  const seenDatasets = new Map<string, number>();
  body.datasets.forEach((id, k) => {
    const first = seenDatasets.get(id);
    if (first !== undefined) errors.push({ field: `datasets[${k}]`, message: `repeats datasets[${first}] (${id})` });
    else seenDatasets.set(id, k);
  });
  const rows = await evaluationsByIds(deps.db, body.evaluationIds.filter(isUuid));
  const byId = new Map(rows.filter((e) => e.ownerId === caller.userId && !e.deletedAt).map((e) => [e.id, e]));
  const seen = new Map<string, number>();
  const found: EvaluationRow[] = [];
  let firstIndex = 0;
  body.evaluationIds.forEach((id, i) => {
    const field = `evaluationIds[${i}]`;
    const evaluation = byId.get(id.toLowerCase()) ?? byId.get(id);
    if (!evaluation) return errors.push({ field, message: 'is not one of your evaluations' });
    const first = seen.get(evaluation.id);
    if (first !== undefined)
      return errors.push({ field, message: `repeats evaluationIds[${first}]; each model is compared once` });
    seen.set(evaluation.id, i);
    if (found.length === 0) firstIndex = i;
    found.push(evaluation);
    const domain = found[0]!.domain;
    if (evaluation.domain !== domain) {
      errors.push({
        field,
        message: `is a ${evaluation.domain} evaluation; evaluationIds[${firstIndex}] is ${domain}: a comparison compares models of one domain`,
      });
    }
    body.datasets.forEach((dataset, k) => {
      if (!evaluation.datasetIds.includes(dataset)) {
        errors.push({
          field: `datasets[${k}]`,
          message: `${dataset} is not a dataset of evaluationIds[${i}] (${evaluation.modelName}); it has ${evaluation.datasetIds.join(', ')}`,
        });
      }
    });
    return undefined;
  });
  if (errors.length > 0) throw unprocessable(errors);
  return found;
}

/** 400 naming each weight the plan cannot take. */
export function refuseWeights(errors: FieldError[]): void {
  if (errors.length > 0)
    throw new HttpProblem(400, statusTitle(400), errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
}

function unprocessable(errors: FieldError[]): HttpProblem {
  return new HttpProblem(422, statusTitle(422), errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
}
